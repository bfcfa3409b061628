// npm run new-service -- <name> --team <team> [--description "<one line>"]
//
// Adds a service: its workspace services/<name> on packages/service-kit, its Dockerfile, its
// Kustomize base and an overlay per environment under deploy/teams/<team>/<name>, its entry in
// catalogue.yaml and its CODEOWNERS line (all by the Turborepo generator in
// turbo/generators/config.mts), then regenerates everything derived from the catalogue and the
// lockfile. Every input is checked before anything is written (exit 2 naming each problem); a
// step that fails later undoes all the earlier ones (exit 1).
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { refuse, runGenerators, snapshot, updateLockfile } from './lib/repository-steps.mjs';
import {
  DEFAULT_PORT,
  deployDir,
  newServiceProblems,
  serviceDir,
} from './lib/service-registration.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const COMMAND = 'new-service';
const USAGE = 'npm run new-service -- <name> --team <team> [--description "<one line>"]';

let args;
try {
  args = parseArgs({
    allowPositionals: true,
    options: { team: { type: 'string' }, description: { type: 'string' } },
  });
} catch (error) {
  refuse(COMMAND, [error.message], USAGE);
}
const [name, ...extra] = args.positionals;
const { team, description = `The ${name} service of the ${team} team` } = args.values;
const problems = [
  ...(extra.length > 0 ? [`unexpected argument ${extra.join(' ')}: give one service name`] : []),
  ...newServiceProblems(root, { name, team, description }),
];
if (problems.length > 0) refuse(COMMAND, problems, USAGE);

// Everything the steps below may write, so a failure can put it all back.
const before = snapshot(root, [
  serviceDir(name),
  deployDir(team, name),
  'catalogue.yaml',
  '.github/CODEOWNERS',
  'package-lock.json',
  'argocd/applicationsets',
  'deploy/envs',
  'deploy/platform',
]);
try {
  // The @turbo/gen CLI that `turbo gen` would fetch with npx; run from the lockfile instead
  // (README.md: `turbo gen` asks for a @turbo/gen release matching turbo's, which is missing).
  const genCli = path.join(
    path.dirname(createRequire(import.meta.url).resolve('@turbo/gen/package.json')),
    'dist',
    'cli.js',
  );
  execFileSync(
    process.execPath,
    [genCli, 'run', 'new-service', '--root', root, '--args', name, team, description],
    { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  runGenerators(root);
  updateLockfile(root);
} catch (error) {
  before.restore();
  console.error(
    `${COMMAND}: ${error.message.split('\n')[0]}\n${COMMAND}: nothing was added; the repository is as it was`,
  );
  process.exit(1);
}

const next = [
  ['npm install', 'link the new workspace into node_modules'],
  [`npx turbo run build test --filter=${name}`, 'build it and run its tests'],
  [`npm start -w ${serviceDir(name)}`, `run it on :${DEFAULT_PORT} (GET /readyz)`],
  [`git add -A && git commit -m "Add the ${name} service"`, 'then open a pull request'],
];
const width = Math.max(...next.map(([command]) => command.length)) + 2;
console.log(`
${name} is added to team ${team}. Next:
${next.map(([command, why]) => `  ${command.padEnd(width)}${why}`).join('\n')}
The ${team} team owns ${serviceDir(name)}/ and ${deployDir(team, name)}/. After the merge the release
workflow builds the first image and commits its tag into the dev overlay (until then the overlays
name the tag 0.0.0-unreleased), and Argo CD syncs ${name}-dev. Nothing reaches the service in the
cluster until the platform team allows it in deploy/platform/components/${team}/network-policies.yaml.`);
