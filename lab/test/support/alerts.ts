import { labEnv, must } from './lab';

// What the lab's on-call webhook (lab/scripts/alert-receiver.mjs) received from the Alertmanager:
// one entry per notification, each a group of alerts as Alertmanager's webhook sends them.

interface Alert {
  status: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
}

export interface Notification {
  path: string;
  receivedAt: number;
  body: { receiver: string; status: string; alerts: Alert[] };
}

const RECEIVER = labEnv().LAB_ALERT_RECEIVER!;

export const notifications = (): Notification[] =>
  JSON.parse(must('curl', ['-fsS', `${RECEIVER}/received`])) as Notification[];

/**
 * The first alert named `alertname` delivered firing since `since` (ms) whose labels include
 * `labels`, with the notification that carried it; undefined while there is none.
 */
export function deliveredFiring(
  alertname: string,
  labels: Record<string, string>,
  since: number,
): { notification: Notification; alert: Alert } | undefined {
  for (const notification of notifications()) {
    if (notification.receivedAt < since) continue;
    const alert = notification.body.alerts.find(
      (a) =>
        a.status === 'firing' &&
        a.labels.alertname === alertname &&
        Object.entries(labels).every(([name, value]) => a.labels[name] === value),
    );
    if (alert) return { notification, alert };
  }
  return undefined;
}
