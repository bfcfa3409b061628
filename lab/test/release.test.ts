import { spawn } from 'node:child_process';
import { repoRoot } from '@internal/test-kit';
import {
  LAB_REPO,
  application,
  eventually,
  kubectl,
  labHead,
  must,
  processEnv,
  refresh,
  run,
  revertAndPush,
} from './support/lab';
import {
  ANTAEUS_SELECTOR,
  PAYMENT_SELECTOR,
  chargesServed,
  deploymentImage,
  pods,
  runningPod,
} from './support/node';

// Merge to deploy on the lab: `npm run lab:release -- payment` does what release.yml does on a
// merge to main, Argo CD rolls payment-dev while Antaeus's pod keeps charging through it, and a
// `git revert` of the bump brings the previous image back.

/**
 * Charges payment from inside the Antaeus pod (its network path and token) for `seconds`, one
 * request at a time on a kept-alive connection, and prints the count of each outcome.
 */
function chargeFromAntaeus(seconds: number): Promise<Record<string, number>> {
  const script = `
    const outcomes = {};
    const count = (key) => { outcomes[key] = (outcomes[key] || 0) + 1; };
    const until = Date.now() + ${seconds * 1000};
    (async () => {
      for (let i = 1; Date.now() < until; i++) {
        try {
          const response = await fetch(process.env.PAYMENT_PROVIDER_ENDPOINT, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: 'Bearer ' + process.env.PAYMENT_API_TOKEN },
            body: JSON.stringify({ currency: 'USD', value: 10.5, customer_id: 1, invoice_id: 9e8 + i }),
          });
          await response.text();
          count(String(response.status));
        } catch (error) {
          count('error ' + (error.cause?.code ?? error.message));
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      console.log(JSON.stringify(outcomes));
    })();`;
  const pod = runningPod('billing-dev', ANTAEUS_SELECTOR);
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', ['-n', 'billing-dev', 'exec', pod, '--', 'node', '-e', script], {
      env: processEnv,
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim()) as Record<string, number>)
        : reject(new Error(out)),
    );
  });
}

const paymentPods = () =>
  pods('payments-dev', PAYMENT_SELECTOR)
    .filter((pod) => pod.status.phase === 'Running')
    .map((pod) => `${pod.metadata.name}=${pod.spec.containers[0]!.image}`);

async function synced(app: string, head: string) {
  refresh(app);
  await eventually(
    `${app} synced to ${head.slice(0, 7)}`,
    () => {
      const status = application(app).status;
      return status?.sync?.revision === head && status.sync.status === 'Synced' ? true : undefined;
    },
    240_000,
  );
}

describe('npm run lab:release', () => {
  test('refuses a missing or unknown service, naming it', () => {
    const none = run('npm', ['run', '--silent', 'lab:release'], { cwd: repoRoot() });
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/expected 1 service, got 0/);
    const unknown = run('npm', ['run', '--silent', 'lab:release', '--', 'paymnt'], {
      cwd: repoRoot(),
    });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/unknown service 'paymnt' \(catalogue.yaml has: .*payment/);
  });

  test('ships the current commit of payment to dev with no failed charge, and git revert brings the previous image back', async () => {
    const previous = deploymentImage('payments-dev', 'payment');
    const oldPods = paymentPods();
    // A merge to main: the commit to release.
    must('git', [
      '-C',
      LAB_REPO,
      'commit',
      '--allow-empty',
      '-qm',
      'lab test: a change to release',
    ]);
    must('git', ['-C', LAB_REPO, 'push', '-q', 'origin', 'main']);
    const released = labHead().slice(0, 12);
    const release = run('npm', ['run', '--silent', 'lab:release', '--', 'payment'], {
      cwd: repoRoot(),
      timeoutMs: 900_000,
    });
    expect(`${release.status} ${release.stderr}`).toMatch(/^0 /);
    // The bump landed on the git server, with the digest the registry reported.
    must('git', ['-C', LAB_REPO, 'fetch', '-q', 'origin']);
    const bump = must('git', ['-C', LAB_REPO, 'log', '-1', '--format=%H %s', 'origin/main']).trim();
    expect(bump).toMatch(new RegExp(` deploy\\(dev\\): payment ${released}`));
    const bumpCommit = bump.split(' ')[0]!;
    must('git', ['-C', LAB_REPO, 'merge', '-q', '--ff-only', 'origin/main']);

    // Antaeus keeps charging while Argo CD rolls payment-dev.
    const traffic = chargeFromAntaeus(150);
    await synced('payment-dev', bumpCommit);
    kubectl('-n', 'payments-dev', 'rollout', 'status', 'deployment/payment', '--timeout=240s');
    const outcomes = await traffic;
    expect(Object.keys(outcomes)).toEqual(['200']);
    expect(outcomes['200']).toBeGreaterThan(100);

    const image = deploymentImage('payments-dev', 'payment');
    expect(image).toMatch(new RegExp(`/payment:${released}@sha256:[0-9a-f]{64}$`));
    const newPods = paymentPods();
    expect(newPods.length).toBeGreaterThan(0);
    for (const pod of newPods) {
      expect(pod).toMatch(new RegExp(`=${image.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
      expect(oldPods).not.toContain(pod);
    }
    // The new pod took over the charging before the traffic stopped.
    const served = newPods.map((pod) => chargesServed('payments-dev', pod.split('=')[0]!));
    expect(Math.max(...served)).toBeGreaterThan(0);

    // Rollback: revert the bump in Git, and the previous image runs again.
    const reverted = revertAndPush(bumpCommit);
    await synced('payment-dev', reverted);
    kubectl('-n', 'payments-dev', 'rollout', 'status', 'deployment/payment', '--timeout=240s');
    expect(deploymentImage('payments-dev', 'payment')).toBe(previous);
  });
});
