import path from 'node:path';
import type { Application } from './objects';

export const MANIFEST_GENERATE_PATHS = 'argocd.argoproj.io/manifest-generate-paths';

/**
 * The absolute directories listed in an Application's manifest-generate-paths annotation; as in
 * Argo CD, a path starting with `/` is relative to the repository root, any other to the app's path.
 */
export function manifestGeneratePaths(app: Application, repoRoot: string): string[] {
  return generatePathsOf(app.metadata.annotations?.[MANIFEST_GENERATE_PATHS], app.spec.source.path, repoRoot);
}

/** The same for an annotation value and the path of the app it belongs to. */
export function generatePathsOf(
  value: string | undefined,
  appPath: string,
  repoRoot: string,
): string[] {
  if (value === undefined || value.trim() === '') return [];
  return value
    .split(';')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) =>
      entry.startsWith('/')
        ? path.join(repoRoot, entry)
        : path.resolve(repoRoot, appPath, entry),
    );
}

/** Whether a change inside `dir` falls under one of `paths`. */
export function isCovered(dir: string, paths: string[]): boolean {
  return paths.some((covering) => dir === covering || dir.startsWith(`${covering}${path.sep}`));
}
