import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { readCatalogue } from '@internal/catalogue';
import { repoRoot, tool, toolsDir } from '@internal/test-kit';
import { git } from './support/git-sandbox';

// The pinned linters over everything the delivery pipeline consists of. Each must report zero
// findings; on failure the tool's own output is the assertion message.

// From this file, not the test kit: in a clone whose node_modules is linked in, the test kit
// resolves to the linked checkout.
const root = repoRoot(__dirname);

/** Files in the working tree (tracked or not, minus .gitignore'd) whose path matches. */
function repoFiles(pattern: RegExp): string[] {
  return git(root, 'ls-files', '--cached', '--others', '--exclude-standard')
    .split('\n')
    .filter((file) => pattern.test(file) && fs.existsSync(path.join(root, file)));
}

function expectClean(binary: string, args: string[], env: Record<string, string> = {}): void {
  const result = spawnSync(binary, args, {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  const findings = `${result.stdout}${result.stderr}${result.error?.message ?? ''}`.trim();
  expect({ status: result.status, findings }).toEqual({ status: 0, findings: '' });
}

const dockerfiles = repoFiles(/(^|\/)Dockerfile$/);
const shellScripts = repoFiles(/\.sh$/);
const workflows = repoFiles(/^\.github\/workflows\/[^/]+\.ya?ml$/);

describe('static checks of the delivery pipeline', () => {
  it('finds a Dockerfile per service, shell scripts and the four workflows', () => {
    expect(dockerfiles).toEqual(
      expect.arrayContaining(
        readCatalogue(root)
          .serviceNames()
          .map((name) => `services/${name}/Dockerfile`),
      ),
    );
    expect(shellScripts).toEqual(
      expect.arrayContaining(['scripts/install-tools.sh', 'lab/scripts/up.sh']),
    );
    expect(workflows.map((w) => path.basename(w)).sort()).toEqual(
      expect.arrayContaining(['ci.yml', 'e2e.yml', 'promote.yml', 'release.yml']),
    );
  });

  it.each(dockerfiles)('hadolint finds nothing in %s', (file) => {
    expectClean(tool('hadolint'), ['--config', '.hadolint.yaml', '--no-color', file]);
  });

  it('shellcheck finds nothing in any shell script', () => {
    expectClean(tool('shellcheck'), ['--external-sources', '--format=gcc', ...shellScripts]);
  });

  it('actionlint finds nothing in the workflows, shellcheck included for run: steps', () => {
    tool('shellcheck');
    expectClean(tool('actionlint'), ['-no-color', ...workflows], {
      PATH: `${path.join(toolsDir(), 'bin')}:${process.env.PATH ?? ''}`,
    });
  });
});
