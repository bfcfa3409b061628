import { setTimeout as sleep } from 'node:timers/promises';
import { DeliveryError } from './errors';
import { git } from './processes';

export interface PushSettings {
  remote: string;
  branch: string;
  attempts: number;
  backoffSeconds: number;
}

/** The push settings from BUMP_REMOTE, BUMP_BRANCH, BUMP_PUSH_ATTEMPTS and BUMP_BACKOFF_SECONDS. */
export function pushSettings(root: string, env: NodeJS.ProcessEnv = process.env): PushSettings {
  const branch =
    env.BUMP_BRANCH || git(root, 'symbolic-ref', '--quiet', '--short', 'HEAD').stdout.trim();
  if (!branch) throw new DeliveryError('HEAD is detached: set BUMP_BRANCH to the branch to push');
  const attempts = env.BUMP_PUSH_ATTEMPTS ?? '5';
  if (!/^[1-9][0-9]*$/.test(attempts))
    throw new DeliveryError(`BUMP_PUSH_ATTEMPTS must be a positive integer, got '${attempts}'`);
  const backoff = env.BUMP_BACKOFF_SECONDS ?? '2';
  if (!/^[0-9]+$/.test(backoff))
    throw new DeliveryError(`BUMP_BACKOFF_SECONDS must be a whole number, got '${backoff}'`);
  return {
    remote: env.BUMP_REMOTE || 'origin',
    branch,
    attempts: Number(attempts),
    backoffSeconds: Number(backoff),
  };
}

/**
 * Pushes the current branch's new commits, and when the remote moved on meanwhile (another
 * bump, a merge) rebases them onto it and tries again. A rebase conflict stops with the rebase
 * undone, because two writers changed the same line and a person has to choose.
 */
export async function pushWithRetry(
  root: string,
  settings: PushSettings,
  log: (line: string) => void,
): Promise<void> {
  const { remote, branch, attempts, backoffSeconds } = settings;
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    if (git(root, 'push', '--quiet', remote, `HEAD:refs/heads/${branch}`).status === 0) {
      log(`pushed to ${remote}/${branch} (attempt ${attempt})`);
      return;
    }
    if (attempt === attempts) break;
    log(`push rejected (attempt ${attempt} of ${attempts}): rebasing onto ${remote}/${branch}`);
    if (git(root, 'pull', '--quiet', '--rebase', remote, branch).status !== 0) {
      git(root, 'rebase', '--abort');
      throw new DeliveryError(`rebasing onto ${remote}/${branch} conflicted; resolve by hand`);
    }
    // Spread retries out so that several writers do not collide again in lockstep.
    const jitter = Math.floor(Math.random() * (backoffSeconds + 1));
    await sleep((backoffSeconds * attempt + jitter) * 1000);
  }
  throw new DeliveryError(`could not push to ${remote}/${branch} after ${attempts} attempts`);
}
