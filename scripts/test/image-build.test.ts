import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, repoRoot, startProcess } from '@internal/test-kit';
import { dockerignoreMatcher, replayDockerfile, type Replay } from './support/dockerfile';

// No Docker engine here: each service's Dockerfile is replayed step by step (turbo prune, npm ci,
// build, production-only install into a clean stage, copy of the build output), and the final
// stage must boot with the image's CMD and answer its readiness probe.

const root = repoRoot();
const BUILD_TIMEOUT_MS = 15 * 60_000;

const onPath = (binary: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/** Host setup lines the replay skips, checked against what this machine provides instead. */
function checkHostSetup(command: string): void {
  const global = /^npm install --global (\S+)@(\S+)$/.exec(command);
  if (global) {
    const [, name, version] = global;
    const installed = JSON.parse(
      fs.readFileSync(path.join(root, 'node_modules', name!, 'package.json'), 'utf8'),
    ) as { version: string };
    expect(`${name}@${installed.version}`).toBe(`${name}@${version}`);
    return;
  }
  const apt = /apt-get install ([^&]+)/.exec(command);
  if (apt) {
    const packages = apt[1]!.split(/\s+/).filter((word) => word && !word.startsWith('-'));
    const missing = packages.filter((pkg) => !onPath(pkg));
    expect(missing).toEqual([]);
    return;
  }
  throw new Error(`unexpected host setup line: ${command}`);
}

const isHostSetup = (command: string) => /^(apt-get|npm install --global) /.test(command);

function replay(service: string, workRoot: string): Replay {
  return replayDockerfile({
    dockerfile: path.join(root, 'services', service, 'Dockerfile'),
    context: root,
    workRoot,
    isHostSetup,
    hostEnv: {
      // The prune stage's global turbo is the repository's own, whose version is checked above.
      PATH: `${path.join(root, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
      TURBO_TELEMETRY_DISABLED: '1',
      // node-gyp builds native addons offline against the headers of the Node that runs the
      // replay (the pinned release, as in the image), not the image's /usr/local.
      npm_config_nodedir: path.dirname(path.dirname(process.execPath)),
      // That Node is the official build, which trusts only its own CAs unless told of the
      // machine's (registry traffic here passes a TLS proxy), as the lab's base image is.
      ...(process.env.NODE_EXTRA_CA_CERTS
        ? { NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS }
        : {}),
    },
  });
}

const listDirectory = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir) : []);

describe.each([
  { service: 'payment', nativeAddon: undefined },
  { service: 'antaeus', nativeAddon: 'better-sqlite3/build/Release/better_sqlite3.node' },
])('the $service image, built from its Dockerfile without Docker', ({ service, nativeAddon }) => {
  let workRoot: string;
  let result: Replay;

  beforeAll(() => {
    workRoot = fs.mkdtempSync(path.join(os.tmpdir(), `image-${service}-`));
    result = replay(service, workRoot);
  }, BUILD_TIMEOUT_MS);

  afterAll(() => fs.rmSync(workRoot, { recursive: true, force: true }));

  it('checks the host provides what the skipped setup lines install', () => {
    expect(result.skipped.length).toBeGreaterThan(0);
    result.skipped.forEach(checkHostSetup);
  });

  it('runs as a numeric non-root user', () => {
    expect(result.final.user).toBe('10001:10001');
  });

  it('ships production dependencies only, with native addons compiled', () => {
    const modules = path.join(result.final.root, result.final.workdir, 'node_modules');
    const installed = listDirectory(modules);
    expect(installed).toEqual(expect.arrayContaining(['koa', 'pino']));
    expect(installed).not.toEqual(expect.arrayContaining(['typescript']));
    expect(installed).not.toContain('jest');
    expect(installed).not.toContain('turbo');
    if (nativeAddon) expect(fs.existsSync(path.join(modules, nativeAddon))).toBe(true);
    const sources = path.join(result.final.root, result.final.workdir, 'services', service, 'src');
    expect(fs.existsSync(sources)).toBe(false);
  });

  it('carries the built service but not its benchmark', () => {
    const workspace = path.join(result.final.root, result.final.workdir, 'services', service);
    expect(listDirectory(path.join(workspace, 'dist'))).toContain('server.js');
    expect(listDirectory(path.join(workspace, 'dist'))).not.toContain('bench');
    expect(fs.existsSync(path.join(workspace, 'dist-bench'))).toBe(false);
  });

  it('boots with the image CMD and answers /readyz, then stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const [command, ...args] = result.final.cmd;
    expect(command).toBe('node');
    // As a Deployment runs it: with the bearer tokens its Secret provides.
    const tokens = { [`${service.toUpperCase()}_API_TOKENS`]: 'image-test-token-0123456789' };
    const server = await startProcess({
      command: process.execPath,
      args,
      cwd: path.join(result.final.root, result.final.workdir),
      env: { ...result.final.env, ...tokens, PORT: String(port) },
      readyUrl: `http://127.0.0.1:${port}/readyz`,
      readyTimeoutMs: 30_000,
    });
    const health = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(health.status).toBe(200);
    await expect(server.stop('SIGTERM')).resolves.toBe(0);
  }, 60_000);

  it('fails closed: the image sets no *_AUTH, so without tokens it refuses to start', async () => {
    expect(Object.keys(result.final.env).filter((k) => k.endsWith('_AUTH'))).toEqual([]);
    const [, ...args] = result.final.cmd;
    const server = await startProcess({
      command: process.execPath,
      args,
      cwd: path.join(result.final.root, result.final.workdir),
      env: { ...result.final.env, PORT: String(await freePort()) },
    });
    expect(await server.exited).toBe(1);
    expect(server.output()).toMatch(/_API_TOKENS is not set/);
  }, 60_000);
});

describe('the .dockerignore replay', () => {
  const ignored = dockerignoreMatcher(fs.readFileSync(path.join(root, '.dockerignore'), 'utf8'));

  it.each([
    '.git',
    'node_modules',
    'services/payment/node_modules',
    'packages/service-kit/dist',
    'services/payment/dist-bench',
    '.tools',
  ])('keeps %s out of the build context', (p) => expect(ignored(p)).toBe(true));

  it.each([
    'package-lock.json',
    'services/payment/src',
    'services/antaeus/Dockerfile',
    'turbo.json',
  ])('sends %s', (p) => expect(ignored(p)).toBe(false));
});
