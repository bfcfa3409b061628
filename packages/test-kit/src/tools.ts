import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { repoRoot } from './process';

/** Where scripts/install-tools.sh puts the pinned binaries. */
export function toolsDir(): string {
  return process.env.TOOLS_DIR ?? path.join(repoRoot(), '.tools');
}

/** The absolute path of a pinned tool; throws with the fix when it is not installed. */
export function tool(name: string): string {
  const file = path.join(toolsDir(), 'bin', name);
  if (!fs.existsSync(file)) {
    throw new Error(
      `${name} is not installed at ${file}: run scripts/install-tools.sh (npm test does)`,
    );
  }
  return file;
}

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [key: string]: unknown;
};

/** Renders a kustomization with the pinned kustomize and returns its objects. */
export function kustomizeBuild(dir: string): K8sObject[] {
  const out = execFileSync(tool('kustomize'), ['build', dir], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return YAML.parseAllDocuments(out)
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((obj): obj is K8sObject => obj !== null);
}
