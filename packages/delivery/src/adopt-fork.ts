import fs from 'node:fs';
import path from 'node:path';
import { DeliveryError, UsageError } from './errors';

const OWNER = /^[A-Za-z0-9]([A-Za-z0-9-]{0,37}[A-Za-z0-9])?$/;
const NAME = /^[A-Za-z0-9._-]{1,100}$/;
const GIT_URL = /^(https?|git|ssh):\/\/[A-Za-z0-9.@:_~%/-]+$/;

/** Why a value is not a GitHub `<owner>/<name>`; undefined when it is one. */
export function invalidRepository(value: string): string | undefined {
  const slash = value.indexOf('/');
  if (slash < 0) return `"${value}" is not <owner>/<name>`;
  const owner = value.slice(0, slash);
  const name = value.slice(slash + 1);
  if (!OWNER.test(owner)) return `owner "${owner}" must be 1-39 letters, digits or inner hyphens`;
  if (!NAME.test(name)) return `name "${name}" must be 1-100 letters, digits, '.', '_' or '-'`;
  if (name === '.' || name === '..') return `name "${name}" is reserved`;
  if (name.endsWith('.git')) return `give the name without .git: "${name.slice(0, -4)}"`;
  return undefined;
}

export function requireRepositoryUrl(url: string): string {
  if (!GIT_URL.test(url))
    throw new UsageError(
      `--repo-url "${url}" must be an http(s)://, git:// or ssh:// URL without spaces or query`,
    );
  return url;
}

/** YAML files under a directory containing a literal string, skipping installed dependencies. */
function filesContaining(dir: string, literal: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory())
      return entry.name === 'node_modules' ? [] : filesContaining(full, literal);
    return /\.ya?ml$/.test(entry.name) && fs.readFileSync(full, 'utf8').includes(literal)
      ? [full]
      : [];
  });
}

function replaceLiteral(files: string[], from: string, to: string): void {
  for (const file of files)
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').split(from).join(to));
}

/**
 * Points the checkout at a fork: records `<owner>/<name>` (and a clone URL that is not GitHub's,
 * e.g. a mirror or the lab's git daemon) in scripts/repository.env, and rewrites every Argo CD
 * repoURL under argocd/, every image name and release-workflow signing identity under deploy/.
 * Every argument is checked before anything changes.
 */
export function adoptFork(
  root: string,
  repository: string,
  repoUrl: string | undefined,
  log: (line: string) => void,
): void {
  const reason = invalidRepository(repository);
  if (reason) throw new UsageError(reason);
  if (repoUrl !== undefined) requireRepositoryUrl(repoUrl);
  const envFile = path.join(root, 'scripts', 'repository.env');
  if (!fs.existsSync(envFile)) throw new DeliveryError(`${envFile} is missing`, 2);
  const lines = fs.readFileSync(envFile, 'utf8').split('\n');
  const assignments = lines.filter((line) => line.startsWith('GITHUB_REPOSITORY='));
  if (assignments.length !== 1)
    throw new DeliveryError(`${envFile} must assign GITHUB_REPOSITORY exactly once`, 2);
  const old = (assignments[0] ?? '').slice('GITHUB_REPOSITORY='.length);
  const oldReason = invalidRepository(old);
  if (oldReason) throw new DeliveryError(`${envFile}: ${oldReason}`, 2);

  const recordedUrl = lines.find((line) => line.startsWith('REPOSITORY_URL='));
  const oldUrl = recordedUrl?.slice('REPOSITORY_URL='.length) || `https://github.com/${old}.git`;
  const newUrl = repoUrl || `https://github.com/${repository}.git`;
  if (old === repository && oldUrl === newUrl) {
    log(`already ${repository} at ${newUrl}: nothing to change`);
    return;
  }
  // Registries want lower case image names; GitHub URLs and the keyless signer identity (the
  // Fulcio certificate subject) keep the owner's spelling.
  const oldImages = `ghcr.io/${old.toLowerCase()}/`;
  const newImages = `ghcr.io/${repository.toLowerCase()}/`;
  const oldWorkflows = `https://github.com/${old}/.github/workflows/`;
  const newWorkflows = `https://github.com/${repository}/.github/workflows/`;
  const argocdFiles = filesContaining(path.join(root, 'argocd'), oldUrl);
  const deployFiles = filesContaining(path.join(root, 'deploy'), oldImages);
  const identityFiles = filesContaining(path.join(root, 'deploy'), oldWorkflows);
  replaceLiteral(argocdFiles, oldUrl, newUrl);
  replaceLiteral(deployFiles, oldImages, newImages);
  replaceLiteral(identityFiles, oldWorkflows, newWorkflows);

  const kept = lines
    .filter((line) => !line.startsWith('REPOSITORY_URL='))
    .map((line) =>
      line === `GITHUB_REPOSITORY=${old}` ? `GITHUB_REPOSITORY=${repository}` : line,
    );
  if (repoUrl)
    kept.splice(
      kept.length - (kept[kept.length - 1] === '' ? 1 : 0),
      0,
      `REPOSITORY_URL=${repoUrl}`,
    );
  fs.writeFileSync(envFile, kept.join('\n'));

  log(`repository: ${old} -> ${repository}`);
  log(`repoURL ${newUrl} in ${argocdFiles.length} files under argocd/`);
  log(`images ${newImages}<service> in ${deployFiles.length} files under deploy/`);
  log(`signer ${newWorkflows}release.yml in ${identityFiles.length} files under deploy/`);
}
