// npm run remove-service -- <name>
//
// Removes what `npm run new-service` added for a service: services/<name>,
// deploy/teams/<team>/<name>, its catalogue.yaml entry and its CODEOWNERS line; then regenerates
// everything derived from the catalogue and the lockfile. An unknown name is refused (exit 2); a
// step that fails undoes the earlier ones (exit 1). Argo CD keeps the running Applications (the
// ApplicationSets never delete one): README.md says how to retire them.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import catalogueModule from '@internal/catalogue';
import { refuse, runGenerators, snapshot, updateLockfile } from './lib/repository-steps.mjs';
import {
  deployDir,
  removeCodeowners,
  removeFromCatalogue,
  serviceDir,
} from './lib/service-registration.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const COMMAND = 'remove-service';
const USAGE = 'npm run remove-service -- <name>';

const args = process.argv.slice(2);
const catalogue = catalogueModule.readCatalogue(root);
if (args.length !== 1 || args[0].startsWith('-'))
  refuse(
    COMMAND,
    [args.length === 0 ? 'missing the service name' : `unexpected arguments ${args.join(' ')}`],
    USAGE,
  );
const [name] = args;
const service = catalogue.services.find((candidate) => candidate.name === name);
if (!service)
  refuse(
    COMMAND,
    [`unknown service "${name}" (services: ${catalogue.serviceNames().join(', ')})`],
    USAGE,
  );
if (catalogue.services.filter((candidate) => candidate.team === service.team).length === 1)
  refuse(
    COMMAND,
    [
      `${name} is the only service of team ${service.team}; a team without services is removed from catalogue.yaml by hand (README.md)`,
    ],
    USAGE,
  );

const owned = [serviceDir(name), deployDir(service.team, name)];
const before = snapshot(root, [
  ...owned,
  'catalogue.yaml',
  '.github/CODEOWNERS',
  'package-lock.json',
  'argocd/applicationsets',
  'deploy/envs',
  'deploy/platform',
]);
try {
  for (const dir of owned) fs.rmSync(path.join(root, dir), { recursive: true, force: true });
  removeFromCatalogue(root, name);
  removeCodeowners(root, name);
  runGenerators(root);
  updateLockfile(root);
} catch (error) {
  before.restore();
  console.error(
    `${COMMAND}: ${error.message.split('\n')[0]}\n${COMMAND}: nothing was removed; the repository is as it was`,
  );
  process.exit(1);
}
console.log(`
${name} is removed from the repository. Next: commit, open a pull request, and after the merge
delete the Applications ${catalogue
  .environmentNames()
  .map((env) => `${name}-${env}`)
  .join(', ')} in Argo CD
(argocd app delete, by a platform admin): the ApplicationSet never deletes one by itself.`);
