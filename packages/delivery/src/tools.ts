import fs from 'node:fs';
import path from 'node:path';
import { DeliveryError } from './errors';
import type { Repository } from './repository';

/** Where scripts/install-tools.sh installs the pinned tools: TOOLS_DIR, or .tools in the checkout. */
export const toolsDir = (repo: Repository, env: NodeJS.ProcessEnv = process.env): string =>
  env.TOOLS_DIR ?? repo.path('.tools');

/** The KEY=VALUE pins of scripts/tools.versions. */
export function toolVersions(repo: Repository): Record<string, string> {
  const text = fs.readFileSync(repo.path('scripts', 'tools.versions'), 'utf8');
  return Object.fromEntries(
    text
      .split('\n')
      .map((line) => /^([A-Z0-9_]+)=(.*)$/.exec(line.trim()))
      .flatMap((match) => (match?.[1] && match[2] !== undefined ? [[match[1], match[2]]] : [])),
  );
}

/** A file the pinned tools provide, refusing clearly when scripts/install-tools.sh has not run. */
export function requireInstalled(file: string, exitCode = 1): string {
  if (!fs.existsSync(file))
    throw new DeliveryError(`${file} is missing: run scripts/install-tools.sh`, exitCode);
  return file;
}

export const toolPath = (repo: Repository, name: string): string =>
  path.join(toolsDir(repo), 'bin', name);
