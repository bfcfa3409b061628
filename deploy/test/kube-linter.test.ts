import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toolsDir } from '@internal/test-kit';
import { DEPLOY_DIR, ENVIRONMENTS, renderYaml } from './support/manifests';

const binary = path.join(toolsDir(), 'bin', 'kube-linter');
const unavailable = path.join(toolsDir(), 'unavailable', 'kube-linter');

// scripts/install-tools.sh tries `go install` and the release download; where neither source is
// reachable (this project's build machines get 403 from the Go proxy for golang.stackrox.io) it
// records why. Then the lint is reported as SKIPPED, never as passed, and the reason is printed;
// the policy tests cover most of kube-linter's default checks in the meantime.
const installed = fs.existsSync(binary);
const lint = installed ? it : it.skip;
if (!installed) {
  if (!fs.existsSync(unavailable)) {
    throw new Error(`kube-linter is not installed at ${binary}: run scripts/install-tools.sh`);
  }
  console.warn(`kube-linter SKIPPED: ${fs.readFileSync(unavailable, 'utf8')}`);
}

describe.each(ENVIRONMENTS)('kube-linter on the rendered %s environment', (env) => {
  lint('reports zero findings', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kube-linter-'));
    const manifest = path.join(dir, `${env}.yaml`);
    fs.writeFileSync(manifest, renderYaml(`envs/${env}`));
    const result = spawnSync(
      binary,
      ['lint', '--config', path.join(DEPLOY_DIR, '.kube-linter.yaml'), manifest],
      {
        encoding: 'utf8',
      },
    );
    fs.rmSync(dir, { recursive: true, force: true });
    if (result.status !== 0)
      throw new Error(`kube-linter found problems:\n${result.stdout}${result.stderr}`);
    expect(result.stdout).toMatch(/No lint errors found/);
  });
});
