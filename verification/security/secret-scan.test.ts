import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, tool } from '@internal/test-kit';

interface Finding {
  RuleID: string;
  File: string;
  StartLine: number;
  Commit: string;
}

const root = repoRoot();
const projectConfig = path.join(root, '.gitleaks.toml');

/** Scans every commit of the git repository at `repo`; returns the findings (secrets redacted). */
function scanHistory(repo: string): Finding[] {
  const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gitleaks-')), 'report.json');
  const configArgs = fs.existsSync(projectConfig) ? ['--config', projectConfig] : [];
  const run = spawnSync(
    tool('gitleaks'),
    [
      'git',
      '--no-banner',
      '--no-color',
      '--redact',
      ...configArgs,
      '--report-format',
      'json',
      '--report-path',
      report,
      '--exit-code',
      '0',
      repo,
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  if (run.status !== 0 || !fs.existsSync(report)) {
    throw new Error(`gitleaks failed (exit ${run.status}):\n${run.stdout}${run.stderr}`);
  }
  return JSON.parse(fs.readFileSync(report, 'utf8')) as Finding[];
}

/** A new git repository in a temporary folder, and git run in it as a throwaway committer. */
function scratchRepository(prefix: string) {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=canary', '-c', 'user.email=canary@test', ...args], {
      cwd: repo,
    });
  git('init', '-q');
  return { repo, git };
}

describe('secret scan (gitleaks, pinned)', () => {
  it('finds no secret anywhere in the history of this repository', () => {
    const findings = scanHistory(root);
    const described = findings.map(
      (f) => `${f.RuleID} in ${f.File}:${f.StartLine} (commit ${f.Commit.slice(0, 10)})`,
    );
    expect(described).toEqual([]);
  });

  it('would catch a committed credential, with the project configuration in force', () => {
    const { repo, git } = scratchRepository('gitleaks-canary-');
    // A well-formed but never-issued GitHub token, made up here so no real secret is committed.
    const token = `ghp_${randomBytes(27).toString('base64url').replace(/[-_]/g, 'x').slice(0, 36)}`;
    fs.writeFileSync(path.join(repo, 'deploy.env'), `GITHUB_TOKEN=${token}\n`);
    git('add', 'deploy.env');
    git('commit', '-q', '-m', 'canary');
    expect(scanHistory(repo).map((f) => f.File)).toEqual(['deploy.env']);
  });

  it("lets a SealedSecret's ciphertext and its checksum through (.gitleaks.toml) and still reports a plain token beside them", () => {
    const { repo, git } = scratchRepository('gitleaks-sealed-');
    // The shape kubeseal writes: version bytes, then hundreds of base64 characters.
    const ciphertext = `Ag${randomBytes(540).toString('base64').replace(/=+$/, '')}`;
    const plain = randomBytes(20).toString('hex');
    const file = 'sealed-secrets/payment-api-tokens.yaml';
    fs.mkdirSync(path.join(repo, 'sealed-secrets'));
    fs.writeFileSync(
      path.join(repo, file),
      `kind: SealedSecret\nspec:\n  encryptedData:\n    tokens: ${ciphertext}\n`,
    );
    // The generated component's checksum of it, which rolls the pods that read the Secret: one
    // gitleaks's default rules report (a value of this repository's history), put together here
    // so that this file does not hold it whole.
    const checksum = ['3e301f65', '089c7d28'].join('');
    fs.writeFileSync(
      path.join(repo, 'sealed-secrets', 'kustomization.yaml'),
      `annotations:\n  sealed-secrets.payments-platform/payment-api-tokens: ${checksum}\n`,
    );
    git('add', '--all');
    git('commit', '-q', '-m', 'sealed');
    expect(scanHistory(repo)).toEqual([]);
    fs.appendFileSync(path.join(repo, file), `    api_token: "${plain}"\n`);
    git('commit', '-q', '-am', 'plain');
    expect(scanHistory(repo).map((f) => [f.File, f.StartLine])).toEqual([[file, 5]]);
  });
});
