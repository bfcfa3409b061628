import { execFileSync, spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot, sleep } from '@internal/test-kit';
import { exportsIn, labPath } from './lab-files';

export { labPath } from './lab-files';

/** What `npm run lab:up` wrote to .lab/env: the variables a user sources. */
export function labEnv(): Record<string, string> {
  const env = exportsIn(labPath('env'));
  for (const [name, value] of Object.entries(env))
    env[name] = value.replace('$PATH', process.env.PATH ?? '');
  return env;
}

const env = labEnv();
/** The environment a user has after sourcing .lab/env. */
export const processEnv = { ...process.env, ...env };

export const LAB_REPO = env.LAB_REPO!;
export const ARGOCD_URL = env.ARGOCD_URL!;

export interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command with the lab's environment; never throws. */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; input?: string; timeoutMs?: number } = {},
): Result {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    env: processEnv,
    cwd: options.cwd ?? repoRoot(),
    input: options.input,
    timeout: options.timeoutMs ?? 120_000,
    // Whole invoice lists (100,000 rows, about 9 MB) come back through stdout.
    maxBuffer: 256 * 1024 * 1024,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs a command with the lab's environment and returns stdout; throws with stderr on failure. */
export function must(
  command: string,
  args: string[],
  options: { cwd?: string; input?: string; timeoutMs?: number } = {},
): string {
  const result = run(command, args, options);
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.status}:\n${result.stderr}${result.stdout}`,
    );
  }
  return result.stdout;
}

export const kubectl = (...args: string[]) => must('kubectl', args);
export const kubectlJson = <T = unknown>(...args: string[]): T =>
  JSON.parse(kubectl(...args, '-o', 'json')) as T;

export interface PortForward {
  /** http://127.0.0.1:<local port> */
  url: string;
  stop: () => void;
}

/**
 * `kubectl port-forward` from a free loopback port to `port` of `target` (`service/<name>`, a pod)
 * in `namespace`, as a person reaches a UI inside the cluster; stop it when done.
 */
export function portForward(namespace: string, target: string, port: number): Promise<PortForward> {
  const child = spawn(
    'kubectl',
    ['-n', namespace, 'port-forward', '--address', '127.0.0.1', target, `:${port}`],
    { env: processEnv, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stop = () => void child.kill();
  return new Promise((resolve, reject) => {
    let output = '';
    const fail = (why: string) => {
      stop();
      reject(new Error(`kubectl port-forward ${target} in ${namespace}: ${why}\n${output}`));
    };
    const timer = setTimeout(() => fail('no forwarding after 30 s'), 30_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const local = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(output)?.[1];
      if (!local) return;
      clearTimeout(timer);
      resolve({ url: `http://127.0.0.1:${local}`, stop });
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('exit', (code) => {
      clearTimeout(timer);
      fail(`exited ${code}`);
    });
  });
}

export interface Application {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { project: string; destination: { namespace?: string }; source: { path: string } };
  status?: {
    sync?: { status?: string; revision?: string };
    health?: { status?: string };
    conditions?: { type: string; message: string }[];
    operationState?: { phase?: string; message?: string; syncResult?: { revision?: string } };
    history?: { id: number; revision: string }[];
    reconciledAt?: string;
  };
}

export const application = (name: string) =>
  kubectlJson<Application>('-n', 'argocd', 'get', 'application', name);
export const applications = () =>
  kubectlJson<{ items: Application[] }>('-n', 'argocd', 'get', 'applications').items;

/** Polls `check` until it returns a value other than undefined, or fails naming `what`. */
export async function eventually<T>(
  what: string,
  check: () => T | undefined,
  timeoutMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    try {
      const value = check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = (error as Error).message;
    }
    await sleep(1_000);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError}` : ''}`,
  );
}

/** Asks Argo CD to compare an application with Git now (a user's "Refresh"). */
export function refresh(name: string, hard = false): void {
  kubectl(
    '-n',
    'argocd',
    'annotate',
    '--overwrite',
    'application',
    name,
    `argocd.argoproj.io/refresh=${hard ? 'hard' : 'normal'}`,
  );
}

/** The lab repository's HEAD commit. */
export const labHead = () => must('git', ['-C', LAB_REPO, 'rev-parse', 'HEAD']).trim();

/** Commits everything in the lab repository and pushes it to the git server Argo CD watches. */
export function commitAndPush(message: string): string {
  must('git', ['-C', LAB_REPO, 'add', '-A']);
  must('git', ['-C', LAB_REPO, 'commit', '-qm', message]);
  must('git', ['-C', LAB_REPO, 'push', '-q', 'origin', 'main']);
  return labHead();
}

/** Reverts `commit` (a commit of the lab repository, or HEAD), pushes, and returns the new HEAD. */
export function revertAndPush(commit: string): string {
  must('git', ['-C', LAB_REPO, 'revert', '--no-edit', commit]);
  must('git', ['-C', LAB_REPO, 'push', '-q', 'origin', 'main']);
  return labHead();
}

/**
 * Waits until Argo CD has synced an Application to `head` (a commit of the lab repository) and,
 * unless `healthy` is false, found it Healthy.
 */
export async function syncedTo(
  app: string,
  head: string,
  { healthy = true, timeoutMs = 300_000 }: { healthy?: boolean; timeoutMs?: number } = {},
): Promise<void> {
  refresh(app);
  await eventually(
    `${app} synced to ${head.slice(0, 7)}${healthy ? ' and Healthy' : ''}`,
    () => {
      const status = application(app).status;
      return status?.sync?.revision === head &&
        status.sync.status === 'Synced' &&
        (!healthy || status.health?.status === 'Healthy')
        ? true
        : undefined;
    },
    timeoutMs,
  );
}

/**
 * `npm run seal` in the lab repository, as a person runs it in a clone: the value on stdin
 * becomes key `key` of Secret `secret` in `env`, sealed for the lab cluster's controller.
 */
export function sealInLab(env: string, secret: string, key: string, value: string): void {
  must(
    'env',
    [`TOOLS_DIR=${path.join(repoRoot(), '.tools')}`, 'npx', 'delivery', 'seal', env, secret, key],
    { cwd: LAB_REPO, input: value },
  );
}

/** One key of a Secret in the cluster, decoded (a key may hold dots: tls.crt). */
export const secretValue = (namespace: string, name: string, key: string) =>
  Buffer.from(
    kubectl(
      '-n',
      namespace,
      'get',
      'secret',
      name,
      '-o',
      `jsonpath={.data.${key.replaceAll('.', '\\.')}}`,
    ),
    'base64',
  ).toString();

interface CertificateStatus {
  status?: { revision?: number };
}

/** A cert-manager Certificate's revision: it goes up with every issuance. */
export const certificateRevision = (namespace: string, name: string): number =>
  kubectlJson<CertificateStatus>('-n', namespace, 'get', 'certificate', name).status?.revision ?? 0;

/**
 * Asks cert-manager to re-issue a Certificate now, as `cmctl renew` does (an Issuing condition
 * on its status), and returns the revision it had.
 */
export function renewCertificate(namespace: string, name: string, why: string): number {
  const revision = certificateRevision(namespace, name);
  kubectl(
    '-n',
    namespace,
    'patch',
    'certificate',
    name,
    '--subresource=status',
    '--type=json',
    '-p',
    JSON.stringify([
      {
        op: 'add',
        path: '/status/conditions/-',
        value: {
          type: 'Issuing',
          status: 'True',
          reason: 'ManuallyTriggered',
          message: `lab test: ${why}`,
          lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        },
      },
    ]),
  );
  return revision;
}

/** The argocd CLI against the lab's API server, as the lab's admin unless a token is given. */
export function argocd(args: string[], token?: string): Result {
  const auth = token ?? adminToken();
  return run('argocd', [
    ...args,
    '--server',
    env.ARGOCD_SERVER!,
    '--plaintext',
    '--auth-token',
    auth,
  ]);
}

let cachedAdminToken: string | undefined;
/** A session token for the lab's admin, from Argo CD's own login endpoint. */
export function adminToken(): string {
  if (cachedAdminToken) return cachedAdminToken;
  const response = execFileSync(
    'curl',
    [
      '-fsS',
      '-H',
      'Content-Type: application/json',
      '-d',
      JSON.stringify({ username: env.ARGOCD_ADMIN_USERNAME, password: env.ARGOCD_ADMIN_PASSWORD }),
      `${ARGOCD_URL}/api/v1/session`,
    ],
    { encoding: 'utf8' },
  );
  cachedAdminToken = (JSON.parse(response) as { token: string }).token;
  return cachedAdminToken;
}

export interface ResourceNode {
  kind: string;
  name: string;
  health?: { status: string };
  parentRefs?: { kind: string; name: string }[];
}

/** An Application's resource tree as Argo CD serves it to its UI (what the tree view draws). */
export function resourceTree(app: string): ResourceNode[] {
  const tree = execFileSync(
    'curl',
    [
      '-fsS',
      '-H',
      `Authorization: Bearer ${adminToken()}`,
      `${ARGOCD_URL}/api/v1/applications/${app}/resource-tree`,
    ],
    { encoding: 'utf8' },
  );
  return (JSON.parse(tree) as { nodes: ResourceNode[] }).nodes;
}

/**
 * An Application's own resources (those it syncs; what they create counts in their health) whose
 * health is not Healthy, as "<kind> <name>: <status>". The tree also lists what they created,
 * history included: an aborted canary's AnalysisRun stays Degraded after the revert healed the app.
 */
export const unhealthyResources = (app: string): string[] =>
  resourceTree(app)
    .filter((node) => !node.parentRefs?.length)
    .filter((node) => node.health && node.health.status !== 'Healthy')
    .map((node) => `${node.kind} ${node.name}: ${node.health!.status}`);

/**
 * Waits until every Application but `skippedEnvironment`'s is Synced with every resource Healthy,
 * or fails naming what is not.
 */
export const appsSyncedAndHealthy = (skippedEnvironment: string, timeoutMs: number) =>
  eventually(
    `every app but ${skippedEnvironment}'s Synced and Healthy`,
    () => {
      const unwell = applications()
        .filter((app) => !app.metadata.name.endsWith(`-${skippedEnvironment}`))
        .flatMap((app) => {
          const name = app.metadata.name;
          if (app.status?.sync?.status !== 'Synced')
            return [`${name}: ${app.status?.sync?.status}`];
          return unhealthyResources(name).map((resource) => `${name}: ${resource}`);
        });
      if (unwell.length > 0) throw new Error(unwell.join(', '));
      return true;
    },
    timeoutMs,
  );
