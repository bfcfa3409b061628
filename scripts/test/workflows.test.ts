import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { repoRoot } from '@internal/test-kit';

// Policies actionlint does not enforce: pinned actions, least privilege, serialised deploys.

const root = repoRoot();
const workflowDir = path.join(root, '.github', 'workflows');
const actionFiles = [
  ...fs.readdirSync(workflowDir).map((f) => path.join(workflowDir, f)),
  path.join(root, '.github', 'actions', 'setup', 'action.yml'),
];

type Job = {
  permissions?: unknown;
  concurrency?: unknown;
  steps?: { uses?: string; run?: string }[];
};
type Workflow = { permissions?: unknown; concurrency?: unknown; jobs: Record<string, Job> };
const load = (name: string) =>
  YAML.parse(fs.readFileSync(path.join(workflowDir, name), 'utf8')) as Workflow;

describe('GitHub Actions workflows', () => {
  it.each(actionFiles.map((f) => path.relative(root, f)))(
    '%s pins every action to a full commit SHA with a version comment',
    (file) => {
      const lines = fs.readFileSync(path.join(root, file), 'utf8').split('\n');
      const uses = lines.filter(
        (line) => /^\s*(-\s+)?uses:/.test(line) && !/uses:\s*\.\//.test(line),
      );
      for (const line of uses)
        expect(line).toMatch(/uses: [\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
    },
  );

  it.each(['ci.yml', 'release.yml', 'promote.yml', 'e2e.yml'])(
    '%s grants nothing by default and states each job’s permissions',
    (name) => {
      const workflow = load(name);
      expect(workflow.permissions).toEqual({});
      for (const [id, job] of Object.entries(workflow.jobs)) {
        expect({ id, permissions: typeof job.permissions }).toEqual({ id, permissions: 'object' });
      }
    },
  );

  it('gives write access to the repository only to the jobs that push', () => {
    const writers = ['ci.yml', 'release.yml', 'promote.yml', 'e2e.yml'].flatMap((name) =>
      Object.entries(load(name).jobs)
        .filter(([, job]) => (job.permissions as Record<string, string>).contents === 'write')
        .map(([id]) => `${name}:${id}`),
    );
    expect(writers.sort()).toEqual(['promote.yml:pull-request', 'release.yml:bump-dev']);
  });

  it('serialises the dev bump in one concurrency group that never cancels a bump', () => {
    expect(load('release.yml').jobs['bump-dev']?.concurrency).toEqual({
      group: 'release-bump-dev',
      'cancel-in-progress': false,
    });
    for (const name of ['ci.yml', 'promote.yml', 'e2e.yml'])
      expect(load(name).concurrency).toBeDefined();
  });

  it('deploys and tests through the same scripts the local tests exercise', () => {
    const runs = (name: string) =>
      Object.values(load(name).jobs)
        .flatMap((job) => job.steps ?? [])
        .map((step) => step.run ?? '')
        .join('\n');
    expect(runs('release.yml')).toMatch(/scripts\/affected-services\.sh/);
    expect(runs('release.yml')).toMatch(/scripts\/bump-image\.sh --commit/);
    expect(runs('release.yml')).toMatch(/scripts\/lib\/push-with-retry\.sh/);
    expect(runs('promote.yml')).toMatch(/scripts\/promote\.sh/);
    expect(runs('e2e.yml')).toMatch(/scripts\/deploy\.sh dev/);
    expect(runs('e2e.yml')).toMatch(/scripts\/smoke\.sh/);
  });
});
