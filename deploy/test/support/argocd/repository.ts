import fs from 'node:fs';
import path from 'node:path';

/** What scripts/repository.env says this repository is, and the addresses derived from it. */
export type RepositoryIdentity = {
  /** `owner/name` as GitHub spells it. */
  githubRepository: string;
  /** The URL Argo CD clones. */
  repoURL: string;
  /** Where CI pushes images; container registries require lower case. */
  imageRegistryPath: string;
};

/** `owner/name` with GitHub's rules for both parts. */
export const GITHUB_REPOSITORY_PATTERN =
  /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?\/[A-Za-z0-9._-]{1,100}$/;

export function identityOf(githubRepository: string, repositoryURL?: string): RepositoryIdentity {
  if (!GITHUB_REPOSITORY_PATTERN.test(githubRepository) || /\/\.{1,2}$/.test(githubRepository)) {
    throw new Error(
      `GITHUB_REPOSITORY must be <owner>/<name> as on GitHub, got "${githubRepository}"`,
    );
  }
  return {
    githubRepository,
    repoURL: repositoryURL ?? `https://github.com/${githubRepository}.git`,
    imageRegistryPath: `ghcr.io/${githubRepository.toLowerCase()}`,
  };
}

/** Reads GITHUB_REPOSITORY (and REPOSITORY_URL, set for a git server other than GitHub) from `<root>/scripts/repository.env`. */
export function readRepositoryIdentity(root: string): RepositoryIdentity {
  const file = path.join(root, 'scripts', 'repository.env');
  const lines = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim());
  const assignments = lines.filter((line) => line.startsWith('GITHUB_REPOSITORY='));
  const repositoryURL = lines.find((line) => line.startsWith('REPOSITORY_URL='))?.slice('REPOSITORY_URL='.length);
  if (assignments.length !== 1) {
    throw new Error(
      `${file} must assign GITHUB_REPOSITORY exactly once, found ${assignments.length}`,
    );
  }
  const [assignment] = assignments as [string];
  return identityOf(assignment.slice('GITHUB_REPOSITORY='.length), repositoryURL);
}
