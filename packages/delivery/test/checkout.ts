import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { copyWorkingTree, repoRoot } from '@internal/test-kit';

/**
 * A throwaway git checkout with a catalogue of invented teams, services and environments, one
 * overlay per service and environment, so the tests show the tool derives every name from the
 * catalogue it finds.
 */
export const ENVIRONMENTS = ['alpha', 'beta', 'gamma'];
export const TEAMS = [
  { name: 'north', services: ['ledger', 'ticker'] },
  { name: 'south', services: ['relay'] },
];
export const SERVICES = TEAMS.flatMap((team) => team.services);

const catalogueYaml = () =>
  [
    'environments:',
    ...ENVIRONMENTS.flatMap((env) => [
      `  - name: ${env}`,
      `    namespace: '{team}-${env}'`,
      '    autoSync: true',
      '    prune: true',
    ]),
    'teams:',
    ...TEAMS.flatMap((team) => [
      `  - name: ${team.name}`,
      `    owners: '@example-org/${team.name}-team'`,
      `    description: The ${team.name} team`,
      '    services:',
      ...team.services.map((service) => `      - name: ${service}`),
    ]),
    '',
  ].join('\n');

export const overlayText = (service: string) =>
  [
    'apiVersion: kustomize.config.k8s.io/v1beta1',
    'kind: Kustomization',
    'resources:',
    '  - ../../base',
    '# The image this environment runs.',
    'images:',
    `  - name: ghcr.io/example-org/repo/${service}`,
    '    newTag: 1.0.0 # set by delivery bump',
    'patches: []',
    '',
  ].join('\n');

export const overlayFile = (team: string, service: string, env: string) =>
  `deploy/teams/${team}/${service}/overlays/${env}/kustomization.yaml`;

export const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Test',
      GIT_AUTHOR_EMAIL: 'test@example.invalid',
      GIT_COMMITTER_NAME: 'Test',
      GIT_COMMITTER_EMAIL: 'test@example.invalid',
      GIT_CONFIG_NOSYSTEM: '1',
    },
  }).trim();

export function createCheckout(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'delivery-checkout-'));
  fs.writeFileSync(path.join(root, 'catalogue.yaml'), catalogueYaml());
  for (const team of TEAMS)
    for (const service of team.services)
      for (const env of ENVIRONMENTS) {
        const file = path.join(root, overlayFile(team.name, service, env));
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, overlayText(service));
      }
  git(root, 'init', '--quiet', '--initial-branch=main');
  git(root, 'add', '--all');
  git(root, 'commit', '--quiet', '--message', 'initial');
  return root;
}

/**
 * A throwaway git repository holding this checkout's working tree, committed, for the commands
 * that read more than the catalogue (the generators read manifests, projects and services).
 */
export function copyOfThisCheckout(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'delivery-copy-'));
  copyWorkingTree(repoRoot(__dirname), root);
  git(root, 'init', '--quiet', '--initial-branch=main');
  git(root, 'add', '--all');
  git(root, 'commit', '--quiet', '--message', 'working tree under test');
  return root;
}

/** Files that differ from the last commit: modified, deleted or untracked. */
export const changedPaths = (root: string): string[] =>
  git(root, 'ls-files', '--modified', '--others', '--exclude-standard')
    .split('\n')
    .filter(Boolean)
    .sort();

const BIN = path.join(__dirname, '..', 'bin', 'delivery.js');

/** The built tool, run in a directory, as a person runs `npx delivery`. */
export function delivery(cwd: string, args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export const DIGEST = `sha256:${'ab'.repeat(32)}`;
