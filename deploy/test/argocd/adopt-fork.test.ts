import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '@internal/test-kit';
import { loadArgoCdConfig } from '../support/argocd/objects';
import { DELIVERY_CLI } from '../support/manifests';
import { readRepositoryIdentity } from '../support/argocd/repository';

const ORIGINAL = readRepositoryIdentity(repoRoot());
/** The prefix of a keyless signer identity: the repository's workflows, as GitHub spells it. */
const workflows = (repository: string) => `https://github.com/${repository}/.github/workflows/`;
// catalogue.yaml marks the copy as a checkout, which the delivery tool works on.
const COPIED = ['argocd', 'deploy', 'scripts/repository.env', 'catalogue.yaml'];
const SKIPPED_DIRS = new Set(['node_modules', '.test-results', 'dist', '.turbo']);

function copyRepository(): string {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'adopt-fork-'));
  for (const entry of COPIED) {
    fs.cpSync(path.join(repoRoot(), entry), path.join(copy, entry), {
      recursive: true,
      filter: (source) => !SKIPPED_DIRS.has(path.basename(source)),
    });
  }
  return copy;
}

/** Every file of a tree with its contents, keyed by its path inside the tree. */
function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (current: string) => {
    for (const entry of fs.readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) walk(full);
      else files.set(path.relative(dir, full), fs.readFileSync(full, 'utf8'));
    }
  };
  walk(dir);
  return files;
}

function adoptFork(copy: string, ...args: string[]) {
  const result = spawnSync(process.execPath, [DELIVERY_CLI, 'adopt-fork', ...args], {
    cwd: copy,
    encoding: 'utf8',
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('delivery adopt-fork on a copy of the repository', () => {
  let copy: string;
  let before: Map<string, string>;
  beforeEach(() => {
    copy = copyRepository();
    before = snapshot(copy);
  });
  afterEach(() => fs.rmSync(copy, { recursive: true, force: true }));

  test('rewrites repository.env, every repoURL and every image name, and nothing else', () => {
    const result = adoptFork(copy, 'My-Org/gitops.fork');
    expect(result).toMatchObject({ status: 0, stderr: '' });

    const fork = readRepositoryIdentity(copy);
    expect(fork).toEqual({
      githubRepository: 'My-Org/gitops.fork',
      repoURL: 'https://github.com/My-Org/gitops.fork.git',
      imageRegistryPath: 'ghcr.io/my-org/gitops.fork',
    });
    const config = loadArgoCdConfig(path.join(copy, 'argocd'));
    expect(
      new Set(
        [...config.applications, ...config.applicationSets.map((set) => set.spec.template)].map(
          (app) => app.spec.source.repoURL,
        ),
      ),
    ).toEqual(new Set([fork.repoURL]));
    expect(new Set(config.projects.flatMap((project) => project.spec.sourceRepos))).toEqual(
      new Set([fork.repoURL]),
    );

    const after = snapshot(copy);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    const expected = (file: string, text: string) =>
      file === path.join('scripts', 'repository.env')
        ? text.replace(
            `GITHUB_REPOSITORY=${ORIGINAL.githubRepository}`,
            `GITHUB_REPOSITORY=${fork.githubRepository}`,
          )
        : file.startsWith(`argocd${path.sep}`) && /\.ya?ml$/.test(file)
          ? text.replaceAll(ORIGINAL.repoURL, fork.repoURL)
          : file.startsWith(`deploy${path.sep}`) && /\.ya?ml$/.test(file)
            ? text
                .replaceAll(`${ORIGINAL.imageRegistryPath}/`, `${fork.imageRegistryPath}/`)
                .replaceAll(workflows(ORIGINAL.githubRepository), workflows(fork.githubRepository))
            : text;
    const changed = [...before]
      .filter(([file, text]) => after.get(file) !== text)
      .map(([file]) => file);
    for (const [file, text] of before)
      expect([file, after.get(file)]).toEqual([file, expected(file, text)]);
    expect(changed.filter((file) => file.startsWith('argocd')).length).toBe(
      config.applications.length +
        config.applicationSets.length +
        config.projects.filter((project) => project.spec.sourceRepos.length > 0).length,
    );
    const imageFiles = changed.filter((file) => file.startsWith('deploy'));
    expect(imageFiles.length).toBeGreaterThan(0);
    for (const file of imageFiles) expect(after.get(file)).toContain(`${fork.imageRegistryPath}/`);
    // The admission policy follows the fork: its images and the release workflow that signs them.
    expect(
      after.get(path.join('deploy', 'platform', 'admission', 'cluster-image-policies.yaml')),
    ).toContain(`subject: ${workflows(fork.githubRepository)}release.yml@refs/heads/main`);
    const yamlStillNamingOriginal = [...after]
      .filter(([file]) => /\.ya?ml$/.test(file))
      .filter(
        ([, text]) =>
          text.includes(ORIGINAL.repoURL) ||
          text.includes(`${ORIGINAL.imageRegistryPath}/`) ||
          text.includes(workflows(ORIGINAL.githubRepository)),
      );
    expect(yamlStillNamingOriginal.map(([file]) => file)).toEqual([]);
  });

  test('adopting the original name again restores every file', () => {
    expect(adoptFork(copy, 'someone/elsewhere').status).toBe(0);
    expect(adoptFork(copy, ORIGINAL.githubRepository).status).toBe(0);
    expect(snapshot(copy)).toEqual(before);
  });

  test('--repo-url points Argo CD at another git server, and adopting without it goes back to GitHub', () => {
    const lab = 'git://127.0.0.1:19418/payments-gitops.git';
    expect(adoptFork(copy, 'lab/payments-gitops', '--repo-url', lab)).toMatchObject({ status: 0 });
    const fork = readRepositoryIdentity(copy);
    expect(fork.repoURL).toBe(lab);
    const config = loadArgoCdConfig(path.join(copy, 'argocd'));
    expect(new Set(config.applications.map((app) => app.spec.source.repoURL))).toEqual(
      new Set([lab]),
    );
    expect(new Set(config.projects.flatMap((project) => project.spec.sourceRepos))).toEqual(
      new Set([lab]),
    );
    expect(adoptFork(copy, ORIGINAL.githubRepository).status).toBe(0);
    expect(snapshot(copy)).toEqual(before);
  });

  test('the current name is a no-op', () => {
    const result = adoptFork(copy, ORIGINAL.githubRepository);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/nothing to change/);
    expect(snapshot(copy)).toEqual(before);
  });

  test.each([
    [[], /missing required argument 'repository'/],
    [['a/b', 'c/d'], /too many arguments for 'adopt-fork'/],
    [['a/b', '--repo-url'], /option '--repo-url <url>' argument missing/],
    [['a/b', '--repo-url', 'file:///etc'], /--repo-url "file:\/\/\/etc" must be/],
    [['a/b', '--repo-url', 'git://h/x y'], /--repo-url "git:\/\/h\/x y" must be/],
    [['a/b', '--bogus'], /unknown option '--bogus'/],
    [[''], /"" is not <owner>\/<name>/],
    [['no-slash'], /"no-slash" is not <owner>\/<name>/],
    [['-owner/repo'], /unknown option '-owner\/repo'/],
    [['--', '-owner/repo'], /owner "-owner" must be/],
    [['owner-/repo'], /owner "owner-" must be/],
    [['a/b/c'], /name "b\/c" must be/],
    [['owner/repo name'], /name "repo name" must be/],
    [['owner/..'], /name ".." is reserved/],
    [['owner/repo.git'], /without .git: "repo"/],
    [[`${'o'.repeat(40)}/repo`], /owner "o{40}" must be/],
  ])('a bad argument %j changes nothing and says why', (args, message) => {
    const result = adoptFork(copy, ...args);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(snapshot(copy)).toEqual(before);
  });
});
