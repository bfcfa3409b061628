import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { dockerfilePath } from './dockerfiles';
import { DeliveryError, UsageError } from './errors';
import { generate } from './generate';
import { Repository } from './repository';
import { snapshot } from './repository-snapshot';
import {
  DEFAULT_PORT,
  deployDir,
  newServiceProblems,
  removeCodeowners,
  removeFromCatalogue,
  serviceDir,
} from './service-registration';

// What `delivery generate` and the lockfile update may write, besides the service's own folders.
const derived = (repo: Repository) => [
  'catalogue.yaml',
  '.github/CODEOWNERS',
  'package-lock.json',
  'argocd',
  'deploy/envs',
  'deploy/platform',
  ...repo.catalogue.serviceNames().map(dockerfilePath),
];

const step = (root: string, command: string, args: string[]) =>
  execFileSync(command, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });

/**
 * Regenerates what derives from the catalogue, as the change left it, and records the new or
 * removed workspace in package-lock.json, as `npm ci` needs, without installing anything: every
 * dependency a generated service uses is in the lockfile already.
 */
function regenerate(root: string, log: (line: string) => void): void {
  generate(new Repository(root), { check: false }, log);
  step(root, 'npm', [
    'install',
    '--package-lock-only',
    '--offline',
    '--ignore-scripts',
    '--no-audit',
    '--no-fund',
  ]);
  step(root, process.execPath, ['scripts/complete-lockfile.mjs']);
}

/** Runs the steps of a change; when one fails, puts every path it may have touched back. */
function allOrNothing(root: string, paths: string[], undone: string, steps: () => void): void {
  const before = snapshot(root, paths);
  try {
    steps();
  } catch (error) {
    before.restore();
    throw new DeliveryError(
      `${(error as Error).message.split('\n')[0]}\n${undone}; the repository is as it was`,
    );
  }
}

/**
 * Adds a service: its workspace on packages/service-kit, Dockerfile, Kustomize base and an
 * overlay per environment, its catalogue entry and CODEOWNERS line (all by the Turborepo
 * generator in turbo/generators/config.mts), then regenerates what derives from the catalogue
 * and the lockfile. Every input is checked before anything is written.
 */
export function newService(
  repo: Repository,
  request: { name?: string; team?: string; description?: string },
  log: (line: string) => void,
): string {
  const { name, team } = request;
  const problems = newServiceProblems(repo.root, request);
  if (problems.length > 0 || !name || !team) throw new UsageError(problems.join('\n'));
  const description = request.description ?? `The ${name} service of the ${team} team`;
  allOrNothing(
    repo.root,
    [serviceDir(name), deployDir(team, name), ...derived(repo)],
    'nothing was added',
    () => {
      // The @turbo/gen CLI that `turbo gen` would fetch with npx, run from the lockfile instead
      // (docs/delivery.md: `turbo gen` asks for a @turbo/gen release matching turbo's, which is missing).
      const genCli = path.join(
        path.dirname(require.resolve('@turbo/gen/package.json')),
        'dist',
        'cli.js',
      );
      step(repo.root, process.execPath, [
        genCli,
        'run',
        'new-service',
        '--root',
        repo.root,
        '--args',
        name,
        team,
        description,
      ]);
      regenerate(repo.root, log);
    },
  );
  const next = [
    ['npm install', 'link the new workspace into node_modules'],
    [`npx turbo run build test --filter=${name}`, 'build it and run its tests'],
    [`npm start -w ${serviceDir(name)}`, `run it on :${DEFAULT_PORT} (GET /readyz)`],
    [`git add -A && git commit -m "Add the ${name} service"`, 'then open a pull request'],
  ];
  const width = Math.max(...next.map(([command = '']) => command.length)) + 2;
  const [firstEnv] = repo.catalogue.environmentNames();
  return `
${name} is added to team ${team}. Next:
${next.map(([command = '', why]) => `  ${command.padEnd(width)}${why}`).join('\n')}
The ${team} team owns ${serviceDir(name)}/ and ${deployDir(team, name)}/. After the merge the release
workflow builds the first image and commits its tag into the ${firstEnv} overlay (until then the overlays
name the tag 0.0.0-unreleased), and Argo CD syncs ${name}-${firstEnv}. Nothing reaches the service in the
cluster until the platform team allows it in deploy/platform/components/${team}/network-policies.yaml.`;
}

/**
 * Removes what new-service added for a service, then regenerates what derives from the
 * catalogue and the lockfile. Once merged, the team's ApplicationSet deletes the service's
 * Applications; the message says what that removes where.
 */
export function removeService(repo: Repository, name: string, log: (line: string) => void): string {
  const { catalogue } = repo;
  const service = catalogue.services.find((candidate) => candidate.name === name);
  if (!service)
    throw new UsageError(
      `unknown service "${name}" (services: ${catalogue.serviceNames().join(', ')})`,
    );
  if (catalogue.services.filter((candidate) => candidate.team === service.team).length === 1)
    throw new UsageError(
      `${name} is the only service of team ${service.team}; a team without services is removed from catalogue.yaml by hand (README.md)`,
    );
  const owned = [serviceDir(name), deployDir(service.team, name)];
  allOrNothing(repo.root, [...owned, ...derived(repo)], 'nothing was removed', () => {
    for (const dir of owned) fs.rmSync(path.join(repo.root, dir), { recursive: true, force: true });
    removeFromCatalogue(repo.root, name);
    removeCodeowners(repo.root, name);
    regenerate(repo.root, log);
  });
  const pruning = catalogue.environments.filter((env) => env.prune).map((env) => env.name);
  const kept = catalogue.environments.filter((env) => !env.prune).map((env) => env.name);
  const namespaces = kept.map((env) => catalogue.namespace(service.team, env));
  return `
${name} is removed from the repository. Next: commit and open a pull request. After the merge the
${service.team} ApplicationSet deletes ${name}'s Applications; in ${pruning.join(', ') || 'no environment'} their
finalizer deletes what they deployed${
    kept.length
      ? `, while in ${kept.join(', ')}, which never prune${kept.length === 1 ? 's' : ''} by itself, the objects stay until a release admin deletes them (kubectl -n ${namespaces.join(' / ')} delete ... -l app.kubernetes.io/name=${name})`
      : ''
  }.`;
}
