import path from 'node:path';
import { renderedDirectories, type Catalogue } from '@internal/catalogue';

export type ExpectedApplication = {
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    finalizers?: string[];
  };
  spec: Record<string, unknown>;
};

/**
 * The Application each service and environment of the catalogue must have, exactly as the
 * hand-written files had them before the ApplicationSets; lab/test/applicationsets.test.ts compares
 * what the real ApplicationSet controller generates with this.
 */
export function expectedServiceApplications(
  catalogue: Catalogue,
  repoURL: string,
  root: string,
): ExpectedApplication[] {
  return catalogue.services.flatMap(({ name: service, team }) =>
    catalogue.environments.map((env) => {
      const overlay = catalogue.overlayPath(service, env.name);
      return {
        metadata: {
          name: `${service}-${env.name}`,
          namespace: 'argocd',
          labels: {
            'app.kubernetes.io/name': service,
            'app.kubernetes.io/part-of': 'payments-platform',
            team,
            environment: env.name,
          },
          annotations: {
            'argocd.argoproj.io/manifest-generate-paths': renderedDirectories(
              path.join(root, overlay),
            )
              .map((dir) => `/${path.relative(root, dir)}`)
              .join(';'),
          },
          // Deleting the Application deletes what it deployed only where the environment prunes.
          ...(env.prune
            ? { finalizers: ['resources-finalizer.argocd.argoproj.io/foreground'] }
            : {}),
        },
        spec: {
          project: team,
          source: { repoURL, targetRevision: 'main', path: overlay },
          destination: {
            server: 'https://kubernetes.default.svc',
            namespace: catalogue.namespace(team, env.name),
          },
          syncPolicy: {
            automated: { enabled: env.autoSync, prune: env.prune, selfHeal: true },
            syncOptions: ['CreateNamespace=false', 'FailOnSharedResource=true', 'PruneLast=true'],
            // refresh: a retried sync takes the newest commit, so a revert is not held behind a failed release.
            retry: {
              limit: 5,
              backoff: { duration: '10s', factor: 2, maxDuration: '3m' },
              refresh: true,
            },
          },
          revisionHistoryLimit: 10,
        },
      };
    }),
  );
}
