import fs from 'node:fs';
import { ARGOCD_URL, eventually, labPath, run } from './support/lab';

// Argo CD's components run as restarting processes (lab/scripts/processes.sh), as their
// Deployments would in a cluster: one that crashes is started again and the lab carries on.
const COMPONENTS = [
  'argocd-server',
  'argocd-repo-server',
  'argocd-application-controller',
  'argocd-applicationset-controller',
  'argocd-notifications',
];

const loopPid = (name: string) => fs.readFileSync(labPath('pids', `${name}.pid`), 'utf8').trim();
/** The component's own process under its restart loop (not the loop's sleep between runs). */
const componentPid = (name: string) =>
  run('pgrep', ['-P', loopPid(name)])
    .stdout.split('\n')
    .filter(Boolean)
    .find((pid) => fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'sleep') ?? '';

describe("Argo CD's components in the lab", () => {
  test.each(COMPONENTS)('%s runs under its restart loop', (name) => {
    expect(componentPid(name)).toMatch(/^\d+$/);
  });

  test('a killed argocd-server is started again and serves', async () => {
    const crashed = componentPid('argocd-server');
    process.kill(Number(crashed), 'SIGKILL');
    const restarted = await eventually(
      'argocd-server started again and healthy',
      () => {
        const pid = componentPid('argocd-server');
        if (!pid || pid === crashed) return undefined;
        return run('curl', ['-fsS', `${ARGOCD_URL}/healthz`]).status === 0 ? pid : undefined;
      },
      60_000,
    );
    expect(restarted).not.toBe(crashed);
    expect(fs.readFileSync(labPath('logs', 'argocd-server.log'), 'utf8')).toContain(
      'lab: exited with status 137, restarting in 2 s',
    );
  });
});
