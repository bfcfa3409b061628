import fs from 'node:fs';
import path from 'node:path';
import { freePort, repoRoot, startProcess, type ManagedProcess } from './process';

/** services/<service>/dist/<file>, or an error saying how to build it. */
export function builtScript(service: string, file = 'server.js'): string {
  const script = path.join(repoRoot(), 'services', service, 'dist', file);
  if (!fs.existsSync(script)) {
    throw new Error(
      `${script} does not exist: build it with \`npx turbo run build --filter=${service}\``,
    );
  }
  return script;
}

/**
 * The V8 flags of services/<service>'s start script (its heap limits), so that a benchmark runs
 * the service with the memory settings it is deployed with.
 */
export function startScriptFlags(service: string): string[] {
  const manifest = JSON.parse(
    fs.readFileSync(path.join(repoRoot(), 'services', service, 'package.json'), 'utf8'),
  ) as { scripts: { start: string } };
  return manifest.scripts.start.split(/\s+/).filter((arg) => arg.startsWith('--'));
}

export interface BuiltServiceOptions {
  /** A given port (e.g. a restart on the old one); by default a free loopback port. */
  port?: number;
  cwd?: string;
  readyTimeoutMs?: number;
  /** Node options before the script, e.g. startScriptFlags(service). */
  nodeFlags?: string[];
}

export interface RunningService {
  process: ManagedProcess;
  port: number;
  baseUrl: string;
}

/** A service from its build, as `npm start` runs it; resolves once its /readyz answers 200. */
export async function startBuiltService(
  service: string,
  env: Record<string, string | undefined>,
  { port, cwd, readyTimeoutMs, nodeFlags = [] }: BuiltServiceOptions = {},
): Promise<RunningService> {
  const chosenPort = port ?? (await freePort());
  const baseUrl = `http://127.0.0.1:${chosenPort}`;
  const proc = await startProcess({
    command: process.execPath,
    args: [...nodeFlags, builtScript(service)],
    cwd,
    env: { ...env, PORT: String(chosenPort) },
    readyUrl: `${baseUrl}/readyz`,
    readyTimeoutMs,
  });
  return { process: proc, port: chosenPort, baseUrl };
}
