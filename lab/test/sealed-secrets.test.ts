import fs from 'node:fs';
import path from 'node:path';
import {
  LAB_REPO,
  application,
  argocd,
  commitAndPush,
  eventually,
  kubectl,
  kubectlJson,
  refresh,
  sealInLab,
  secretValue,
  syncedTo,
} from './support/lab';
import { BILLING, ENVIRONMENTS, PAYMENTS, catalogue } from './support/catalogue';
import { PAYMENT_SELECTOR, nodeIn, pods, podsReplaced } from './support/node';

// Secrets from Git: every Secret the services read is committed sealed (lab:up sealed the lab
// repository for the lab cluster's controller, as a fork on its own cluster does), the
// controller in the cluster unseals it, and a value sealed with `npm run seal`, committed and
// pushed, reaches the pods that read it by a sync, with nothing done in the cluster by hand.

const SECRETS: [team: string, secret: string][] = [
  [PAYMENTS, 'payment-api-tokens'],
  [PAYMENTS, 'payment-redis'],
  [BILLING, 'payment-api-token'],
  [BILLING, 'antaeus-api-tokens'],
];

interface Owned {
  metadata: { ownerReferences?: { kind: string; name: string; controller?: boolean }[] };
  data?: Record<string, string>;
}
interface Sealed {
  status?: { conditions?: { type: string; status: string }[] };
}

describe.each(ENVIRONMENTS)('%s: every Secret the services read comes from Git', (env) => {
  test.each(SECRETS)('%s: %s is unsealed by the controller from its SealedSecret', (team, name) => {
    const namespace = catalogue.namespace(team, env);
    const secret = kubectlJson<Owned>('-n', namespace, 'get', 'secret', name);
    expect(secret.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'SealedSecret', name, controller: true }),
    ]);
    const sealed = kubectlJson<Sealed>('-n', namespace, 'get', 'sealedsecret', name);
    expect(sealed.status?.conditions).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'Synced', status: 'True' })]),
    );
  });

  test('payment accepts the very token Antaeus sends: one value, sealed on both sides', () => {
    const accepted = secretValue(
      catalogue.namespace(PAYMENTS, env),
      'payment-api-tokens',
      'tokens',
    );
    const sent = secretValue(catalogue.namespace(BILLING, env), 'payment-api-token', 'token');
    expect(sent).toMatch(/^[0-9a-f]{64}$/);
    expect(accepted).toBe(`antaeus:${sent}`);
  });
});

describe('a value sealed with npm run seal, committed and pushed', () => {
  const env = ENVIRONMENTS[0]!;
  const namespace = catalogue.namespace(PAYMENTS, env);
  const app = `payment-${env}`;
  const value = `lab-${Date.now().toString(16)}`.padEnd(40, '0');

  test('reaches the Secret and rolls the pods that read it; they take the new value', async () => {
    const podsBefore = pods(namespace, PAYMENT_SELECTOR).map((pod) => pod.metadata.name);
    sealInLab(env, 'payment-api-tokens', 'metrics-token', value);
    const head = commitAndPush(`lab test: a new metrics token for payment in ${env}`);
    await syncedTo(app, head);
    expect(secretValue(namespace, 'payment-api-tokens', 'metrics-token')).toBe(value);
    kubectl('-n', namespace, 'rollout', 'status', 'deployment/payment', '--timeout=300s');
    const podsAfter = await podsReplaced(namespace, PAYMENT_SELECTOR, podsBefore);
    // The new pods accept the new token on /metrics, and only there.
    const answer = nodeIn(
      namespace,
      podsAfter[0]!,
      `Promise.all(['/metrics', '/v1/charges?invoice_id=1'].map((p) =>
         fetch('http://127.0.0.1:9000' + p, { headers: { authorization: 'Bearer ${value}' } })
           .then((r) => r.status))).then((s) => console.log(s.join(' ')));`,
    );
    expect(answer).toBe('200 401');
  }, 600_000);
});

describe('a plain Secret in Git', () => {
  const env = ENVIRONMENTS[0]!;
  const app = `payment-${env}`;
  const overlay = path.join(LAB_REPO, catalogue.overlayPath('payment', env), 'kustomization.yaml');
  const original = fs.readFileSync(overlay, 'utf8');

  afterAll(async () => {
    // The refused sync retries at its own revision for minutes: end it, as a person would, so
    // the revert below syncs now.
    if (application(app).status?.operationState?.phase === 'Running')
      expect(argocd(['app', 'terminate-op', app]).status).toBe(0);
    if (fs.readFileSync(overlay, 'utf8') === original) return;
    fs.rmSync(path.join(path.dirname(overlay), 'plain-secret.yaml'), { force: true });
    fs.writeFileSync(overlay, original);
    const head = commitAndPush(`lab test: ${app} without the plain Secret`);
    await syncedTo(app, head, { healthy: false, timeoutMs: 120_000 });
  }, 300_000);

  test("is refused by the team's AppProject before anything is applied", async () => {
    fs.writeFileSync(
      path.join(path.dirname(overlay), 'plain-secret.yaml'),
      'apiVersion: v1\nkind: Secret\nmetadata:\n  name: plain\nstringData:\n  token: not-sealed\n',
    );
    fs.writeFileSync(
      overlay,
      original.replace('resources:\n', 'resources:\n  - plain-secret.yaml\n'),
    );
    const head = commitAndPush(`lab test: a plain Secret in ${app}`);
    refresh(app);
    const message = await eventually(
      `${app} refusing the plain Secret at ${head.slice(0, 7)}`,
      () => {
        const status = application(app).status;
        const text = [
          ...(status?.conditions ?? []).map((c) => c.message),
          status?.operationState?.message ?? '',
        ].join('\n');
        return /Secret/.test(text) && /not permitted in project/.test(text) ? text : undefined;
      },
      240_000,
    );
    expect(message).toContain(`resource :Secret is not permitted in project ${PAYMENTS}`);
    expect(
      kubectl(
        '-n',
        catalogue.namespace(PAYMENTS, env),
        'get',
        'secret',
        'plain',
        '--ignore-not-found',
      ),
    ).toBe('');
  }, 600_000);
});
