import { repoRoot } from '@internal/test-kit';
import {
  LAB_REPO,
  application,
  argocd,
  commitAndPush,
  eventually,
  kubectl,
  must,
  refresh,
  run,
} from './support/lab';
import { catalogue, ENVIRONMENTS } from './support/catalogue';
import { pods } from './support/node';

// A service made by `npm run new-service` in the lab repository, as a team would: generated,
// committed, released (image built, signed, pushed, dev bumped by digest), running under its
// team's project; then removed with `npm run remove-service`: its ApplicationSet drops its
// Applications, and where the environment prunes, their finalizer deletes what they deployed.

const SERVICE = 'lab-sample';
const TEAM = catalogue.teamNames()[0]!;
const FIRST_ENV = ENVIRONMENTS[0]!;
const APP = `${SERVICE}-${FIRST_ENV}`;
/** The next environment: it syncs by itself, and admits only signed images. */
const LATER_ENV = ENVIRONMENTS[1]!;
const NAMESPACE = catalogue.namespace(TEAM, FIRST_ENV);
const SELECTOR = `app.kubernetes.io/name=${SERVICE}`;
const PRUNING_ENVS = catalogue.environments.filter((env) => env.prune).map((env) => env.name);

const inLabRepo = (command: string, args: string[]) =>
  must(command, args, { cwd: LAB_REPO, timeoutMs: 600_000 });
const generated = () =>
  run('git', ['-C', LAB_REPO, 'ls-files', '--error-unmatch', `services/${SERVICE}`]).status === 0;
const applicationsLeft = () =>
  ENVIRONMENTS.map((env) => `${SERVICE}-${env}`).filter(
    (name) => run('kubectl', ['-n', 'argocd', 'get', 'application', name]).status === 0,
  );
const objectsLeft = (env: string) =>
  kubectl(
    '-n',
    catalogue.namespace(TEAM, env),
    'get',
    'deployment,service,configmap,serviceaccount,poddisruptionbudget',
    '-l',
    SELECTOR,
    '-o',
    'name',
  );

function removeFromGit(): void {
  inLabRepo('npm', ['run', 'remove-service', '--', SERVICE]);
  commitAndPush(`chore: remove ${SERVICE} (npm run remove-service)`);
}

afterAll(() => {
  // A failed run leaves nothing behind for the other suites.
  if (generated()) removeFromGit();
  for (const name of applicationsLeft()) {
    argocd(['app', 'delete', name, '--cascade', '--yes', '--wait'], undefined);
  }
});

test(`new-service makes ${SERVICE}; once released it runs in ${NAMESPACE}, Synced and Healthy under the ${TEAM} project`, async () => {
  expect(generated()).toBe(false);
  inLabRepo('npm', ['run', 'new-service', '--', SERVICE, '--team', TEAM]);
  commitAndPush(`feat: ${SERVICE} (npm run new-service)`);
  must('npm', ['run', 'lab:release', '--', SERVICE], { cwd: repoRoot(), timeoutMs: 1_200_000 });

  const app = await eventually(
    `${APP} Synced and Healthy`,
    () => {
      const found = application(APP);
      return found.status?.sync?.status === 'Synced' && found.status.health?.status === 'Healthy'
        ? found
        : undefined;
    },
    600_000,
  );
  expect(app.spec.project).toBe(TEAM);
  expect(app.spec.destination.namespace).toBe(NAMESPACE);
  const running = pods(NAMESPACE, SELECTOR).filter((pod) => pod.status.phase === 'Running');
  expect(running.length).toBeGreaterThan(0);
  expect(running.every((pod) => pod.spec.containers[0]!.image.includes('@sha256:'))).toBe(true);
}, 1_500_000);

test(`until promoted, ${SERVICE} never runs in ${LATER_ENV}: signature admission refuses its unreleased tag`, async () => {
  const later = `${SERVICE}-${LATER_ENV}`;
  const refusal = await eventually(
    `${later}'s sync refused at admission`,
    () => {
      const message = application(later).status?.operationState?.message ?? '';
      return message.includes('policy.sigstore.dev') ? message : undefined;
    },
    300_000,
  );
  expect(refusal).toContain(`${SERVICE}:0.0.0-unreleased`);
  expect(pods(catalogue.namespace(TEAM, LATER_ENV), SELECTOR)).toEqual([]);
  // Its retries would hold the Application's deletion (below) until they run out, minutes
  // later: the release group ends a refused sync's retries, as after any refused sync.
  if (application(later).status?.operationState?.phase === 'Running') {
    const stop = argocd(['app', 'terminate-op', later]);
    expect([stop.status, stop.stderr]).toEqual([0, '']);
  }
}, 400_000);

test(`remove-service takes ${SERVICE} off the cluster: its Applications go, and their resources where the environment prunes`, async () => {
  expect(generated()).toBe(true);
  removeFromGit();
  await eventually(
    `${SERVICE}'s Applications deleted by their ApplicationSet`,
    () => {
      refresh('root');
      return applicationsLeft().length === 0 ? true : undefined;
    },
    900_000,
  );
  for (const env of PRUNING_ENVS) expect([env, objectsLeft(env)]).toEqual([env, '']);
  expect(pods(NAMESPACE, SELECTOR)).toEqual([]);
}, 1_000_000);
