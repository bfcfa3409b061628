import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** The repository root: the nearest ancestor holding turbo.json. */
export function repoRoot(from: string = __dirname): string {
  let dir = path.resolve(from);
  while (!fs.existsSync(path.join(dir, 'turbo.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no turbo.json above ${from}`);
    dir = parent;
  }
  return dir;
}

/** A TCP port that was free a moment ago on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

// Tests have always imported sleep from here; it is the standard timers/promises setTimeout.
export { sleep };

/** Polls `url` until it answers `expectedStatus`, or throws after `timeoutMs`. */
export async function waitForHttp(
  url: string,
  {
    expectedStatus = 200,
    timeoutMs = 15_000,
  }: { expectedStatus?: number; timeoutMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.status === expectedStatus) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(50);
  }
  throw new Error(`${url} did not answer ${expectedStatus} within ${timeoutMs} ms (last: ${last})`);
}

export interface ManagedProcess {
  readonly child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or the signal name) once the process has ended. */
  exited: Promise<number | string>;
  /** Sends `signal` and waits for the exit; SIGKILL after `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | string>;
}

export interface StartOptions {
  command: string;
  args?: string[];
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** When set, start() resolves only once this URL answers 200. */
  readyUrl?: string;
  readyTimeoutMs?: number;
}

const running = new Set<ManagedProcess>();
process.once('exit', () => running.forEach((p) => p.child.kill('SIGKILL')));

/** Starts a child process, captures its output, and optionally waits until it is ready. */
export async function startProcess(options: StartOptions): Promise<ManagedProcess> {
  const child = spawn(options.command, options.args ?? [], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  const managed: ManagedProcess = {
    child,
    output: () => output,
    exited,
    async stop(signal = 'SIGTERM', graceMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      running.delete(managed);
      return exited;
    },
  };
  running.add(managed);
  if (options.readyUrl) {
    const failedEarly = exited.then((code) => {
      throw new Error(`${options.command} exited (${code}) before it was ready:\n${output}`);
    });
    await Promise.race([
      waitForHttp(options.readyUrl, { timeoutMs: options.readyTimeoutMs }),
      failedEarly,
    ]).catch(async (err: Error) => {
      await managed.stop('SIGKILL');
      throw new Error(`${err.message}\n--- output ---\n${output}`);
    });
    failedEarly.catch(() => undefined);
  }
  return managed;
}
