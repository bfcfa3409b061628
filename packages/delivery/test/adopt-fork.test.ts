import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { adoptFork, invalidRepository } from '../src/adopt-fork';

describe('invalidRepository', () => {
  it.each(['org/repo', 'My-Org/repo.fork', 'a/b', `${'o'.repeat(39)}/x`])('accepts %s', (value) =>
    expect(invalidRepository(value)).toBeUndefined(),
  );

  it.each([
    ['no-slash', '"no-slash" is not <owner>/<name>'],
    ['-owner/repo', 'owner "-owner" must be 1-39 letters, digits or inner hyphens'],
    [
      `${'o'.repeat(40)}/repo`,
      `owner "${'o'.repeat(40)}" must be 1-39 letters, digits or inner hyphens`,
    ],
    ['a/b/c', `name "b/c" must be 1-100 letters, digits, '.', '_' or '-'`],
    ['owner/..', 'name ".." is reserved'],
    ['owner/repo.git', 'give the name without .git: "repo"'],
  ])('refuses %j, saying why', (value, reason) => expect(invalidRepository(value)).toBe(reason));
});

describe('adoptFork', () => {
  let root: string;
  const lines: string[] = [];
  const file = (relative: string) => path.join(root, relative);
  beforeEach(() => {
    lines.length = 0;
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'adopt-fork-'));
    fs.mkdirSync(file('scripts'));
    fs.mkdirSync(file('argocd'));
    fs.mkdirSync(file('deploy/admission'), { recursive: true });
    fs.writeFileSync(
      file('scripts/repository.env'),
      '# the repository\nGITHUB_REPOSITORY=Org/repo\n',
    );
    fs.writeFileSync(file('argocd/app.yaml'), 'repoURL: https://github.com/Org/repo.git\n');
    fs.writeFileSync(file('deploy/k.yaml'), 'image: ghcr.io/org/repo/one\n');
    fs.writeFileSync(
      file('deploy/admission/policy.yml'),
      'subject: https://github.com/Org/repo/.github/workflows/release.yml@refs/heads/main\n',
    );
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('rewrites the repository, repoURLs, image names and signer identity, and a URL that is not GitHub', () => {
    adoptFork(root, 'New-Org/fork', 'git://127.0.0.1:1/fork.git', (line) => lines.push(line));
    expect(fs.readFileSync(file('scripts/repository.env'), 'utf8')).toBe(
      '# the repository\nGITHUB_REPOSITORY=New-Org/fork\nREPOSITORY_URL=git://127.0.0.1:1/fork.git\n',
    );
    expect(fs.readFileSync(file('argocd/app.yaml'), 'utf8')).toBe(
      'repoURL: git://127.0.0.1:1/fork.git\n',
    );
    expect(fs.readFileSync(file('deploy/k.yaml'), 'utf8')).toBe(
      'image: ghcr.io/new-org/fork/one\n',
    );
    expect(fs.readFileSync(file('deploy/admission/policy.yml'), 'utf8')).toContain(
      'https://github.com/New-Org/fork/.github/workflows/',
    );
    expect(lines).toEqual([
      'repository: Org/repo -> New-Org/fork',
      'repoURL git://127.0.0.1:1/fork.git in 1 files under argocd/',
      'images ghcr.io/new-org/fork/<service> in 1 files under deploy/',
      'signer https://github.com/New-Org/fork/.github/workflows/release.yml in 1 files under deploy/',
    ]);
    adoptFork(root, 'Org/repo', undefined, () => undefined);
    expect(fs.readFileSync(file('argocd/app.yaml'), 'utf8')).toBe(
      'repoURL: https://github.com/Org/repo.git\n',
    );
    expect(fs.readFileSync(file('scripts/repository.env'), 'utf8')).toBe(
      '# the repository\nGITHUB_REPOSITORY=Org/repo\n',
    );
  });

  it('changes nothing for a bad argument or when already adopted', () => {
    expect(() => adoptFork(root, 'x', undefined, () => undefined)).toThrow(
      '"x" is not <owner>/<name>',
    );
    expect(() => adoptFork(root, 'a/b', 'file:///etc', () => undefined)).toThrow(
      /--repo-url "file:\/\/\/etc" must be/,
    );
    adoptFork(root, 'Org/repo', undefined, (line) => lines.push(line));
    expect(lines).toEqual([
      'already Org/repo at https://github.com/Org/repo.git: nothing to change',
    ]);
    expect(fs.readFileSync(file('deploy/k.yaml'), 'utf8')).toBe('image: ghcr.io/org/repo/one\n');
  });

  it('refuses a repository.env that does not name the repository exactly once', () => {
    fs.writeFileSync(
      file('scripts/repository.env'),
      'GITHUB_REPOSITORY=a/b\nGITHUB_REPOSITORY=c/d\n',
    );
    expect(() => adoptFork(root, 'e/f', undefined, () => undefined)).toThrow(
      /must assign GITHUB_REPOSITORY exactly once/,
    );
  });
});
