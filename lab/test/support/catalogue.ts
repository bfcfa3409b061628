import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { readCatalogue } from '@internal/catalogue';
import { repoRoot } from '@internal/test-kit';

/** catalogue.yaml of this checkout: the teams, services and environments the lab must show. */
export const catalogue = readCatalogue(repoRoot());
export const ENVIRONMENTS = catalogue.environmentNames();
/** The last environment, the one only a team's release group may sync. */
export const RELEASE_ENV = ENVIRONMENTS[ENVIRONMENTS.length - 1]!;
export const TEAM_NAMESPACES = ENVIRONMENTS.flatMap((env) =>
  catalogue.teamNames().map((team) => catalogue.namespace(team, env)),
);
/** Every service Application, with its team and environment. */
export const SERVICE_APPS = catalogue.services.flatMap(({ name, team }) =>
  ENVIRONMENTS.map((env) => ({ app: `${name}-${env}`, team, env })),
);
/** The teams of the seed's two services: the provider's and the biller's. */
export const PAYMENTS = catalogue.teamOf('payment');
export const BILLING = catalogue.teamOf('antaeus');

/** The internal ingress controller, as deploy/platform/internal-ingress names it (once). */
export const INTERNAL_INGRESS = (
  YAML.parse(
    fs.readFileSync(
      path.join(repoRoot(), 'deploy/platform/internal-ingress/controller.yaml'),
      'utf8',
    ),
  ) as {
    spec: { ingressClassName: string; namespace: string; podLabels: Record<string, string> };
  }
).spec;
