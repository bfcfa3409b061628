import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tool } from '@internal/test-kit';

/** Fixed, so a failure found once is found again by the next run. */
export const FUZZ_SEED = 20251121;

export interface FuzzRun {
  exitCode: number | null;
  output: string;
  /** API operations Schemathesis reports as tested. */
  operationsTested: number;
}

export interface FuzzOptions {
  /** The running service's served OpenAPI document. */
  specUrl: string;
  /** Test cases per operation and phase; bounds the run time. */
  maxExamples: number;
  headers?: Record<string, string>;
  /** A schemathesis.toml next to this file, for check settings that need a reason. */
  configFile?: string;
}

/**
 * Runs the pinned Schemathesis with every check, a fixed seed and a bounded number of examples
 * against a live service. Exit code 0 means no check failed on any generated request.
 */
export function runSchemathesis(options: FuzzOptions): Promise<FuzzRun> {
  const globalArgs = options.configFile
    ? ['--config-file', path.join(__dirname, options.configFile)]
    : [];
  const headerArgs = Object.entries(options.headers ?? {}).flatMap(([name, value]) => [
    '-H',
    `${name}: ${value}`,
  ]);
  const args = [
    ...globalArgs,
    'run',
    options.specUrl,
    '--checks',
    'all',
    '--seed',
    String(FUZZ_SEED),
    '--max-examples',
    String(options.maxExamples),
    '--workers',
    '1',
    '--request-timeout',
    '10',
    '--no-color',
    ...headerArgs,
  ];
  // Schemathesis keeps a cache of past failures in its working directory and replays them; a
  // fresh directory per run keeps every run decided by the seed alone.
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'schemathesis-'));
  return new Promise((resolve, reject) => {
    const child = spawn(tool('schemathesis'), args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (exitCode) => {
      fs.rmSync(cwd, { recursive: true, force: true });
      const tested = /Tested:\s+(\d+)/.exec(output);
      resolve({ exitCode, output, operationsTested: tested ? Number(tested[1]) : 0 });
    });
  });
}
