import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeliveryError } from '../src/errors';
import { pushSettings, pushWithRetry } from '../src/push';
import { git } from './checkout';

describe('pushSettings', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'push-settings-'));
  beforeAll(() => {
    git(root, 'init', '--quiet', '--initial-branch=trunk');
    git(root, 'commit', '--quiet', '--allow-empty', '--message', 'one');
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('defaults to origin, the current branch, 5 attempts and 2 seconds of backoff', () => {
    expect(pushSettings(root, {})).toEqual({
      remote: 'origin',
      branch: 'trunk',
      attempts: 5,
      backoffSeconds: 2,
    });
    expect(
      pushSettings(root, {
        BUMP_REMOTE: 'up',
        BUMP_BRANCH: 'b',
        BUMP_PUSH_ATTEMPTS: '1',
        BUMP_BACKOFF_SECONDS: '0',
      }),
    ).toEqual({
      remote: 'up',
      branch: 'b',
      attempts: 1,
      backoffSeconds: 0,
    });
  });

  it.each([
    [{ BUMP_PUSH_ATTEMPTS: '0' }, "BUMP_PUSH_ATTEMPTS must be a positive integer, got '0'"],
    [{ BUMP_PUSH_ATTEMPTS: 'many' }, "BUMP_PUSH_ATTEMPTS must be a positive integer, got 'many'"],
    [{ BUMP_BACKOFF_SECONDS: '-1' }, "BUMP_BACKOFF_SECONDS must be a whole number, got '-1'"],
  ])('refuses %j, naming the variable', (env, message) => {
    expect(() => pushSettings(root, env)).toThrow(new DeliveryError(message));
  });

  it('needs BUMP_BRANCH on a detached HEAD', () => {
    git(root, 'checkout', '--quiet', '--detach');
    try {
      expect(() => pushSettings(root, {})).toThrow(
        'HEAD is detached: set BUMP_BRANCH to the branch to push',
      );
      expect(pushSettings(root, { BUMP_BRANCH: 'trunk' }).branch).toBe('trunk');
    } finally {
      git(root, 'checkout', '--quiet', 'trunk');
    }
  });
});

describe('pushWithRetry', () => {
  it('gives up after the last attempt, naming remote and branch', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'push-retry-'));
    try {
      git(root, 'init', '--quiet', '--initial-branch=trunk');
      git(root, 'commit', '--quiet', '--allow-empty', '--message', 'one');
      const lines: string[] = [];
      await expect(
        pushWithRetry(
          root,
          {
            remote: path.join(root, 'no-such-remote'),
            branch: 'trunk',
            attempts: 1,
            backoffSeconds: 0,
          },
          (l) => lines.push(l),
        ),
      ).rejects.toThrow(/could not push to .*no-such-remote\/trunk after 1 attempts/);
      expect(lines).toEqual([]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
