// What registering a service means outside its own folders: the checks a new name must pass,
// its entry in catalogue.yaml and its line in .github/CODEOWNERS. Shared by the Turborepo
// generator (turbo/generators/config.mts) and the new-service / remove-service commands.
import fs from 'node:fs';
import path from 'node:path';
import catalogueModule from '@internal/catalogue';
import { parseDocument } from 'yaml';

const { CATALOGUE_FILE, parseCatalogue, readCatalogue } = catalogueModule;
const CODEOWNERS = '.github/CODEOWNERS';
// Where the generated folders go; also what remove-service deletes.
export const serviceDir = (name) => `services/${name}`;
export const deployDir = (team, name) => `deploy/teams/${team}/${name}`;
// The port a generated service listens on (each runs in its own pod, so they need not differ).
export const DEFAULT_PORT = 8080;
// As catalogue.schema.json's name: a DNS-1123 label short enough for the -<environment> suffix.
const NAME = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;
const NAME_LENGTH = { min: 2, max: 40 };
// The description lands in package.json, YAML, a Dockerfile LABEL and Markdown unescaped: only
// characters that need no quoting in any of them.
const DESCRIPTION = /^[A-Za-z0-9][A-Za-z0-9 ,;:()/+-]{2,119}$/;

/** The npm workspace names in use: a service's folder name is its workspace's package name. */
function workspaceNames(root) {
  const { workspaces } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  return workspaces.flatMap((pattern) => {
    const dirs = pattern.endsWith('/*')
      ? fs
          .readdirSync(path.join(root, pattern.slice(0, -2)), { withFileTypes: true })
          .filter((entry) => entry.isDirectory())
          .map((entry) => `${pattern.slice(0, -2)}/${entry.name}`)
      : [pattern];
    return dirs
      .map((dir) => path.join(root, dir, 'package.json'))
      .filter((file) => fs.existsSync(file))
      .map((file) => JSON.parse(fs.readFileSync(file, 'utf8')).name);
  });
}

/** Why `name` cannot become a service of `team`: one message per problem, empty when it can. */
export function newServiceProblems(root, { name, team, description }) {
  const catalogue = readCatalogue(root);
  const problems = [];
  if (description !== undefined && !DESCRIPTION.test(description))
    problems.push(
      `description "${description}" must be 3-120 letters, digits, spaces and , ; : ( ) / + - (one line, no quotes, no full stop)`,
    );
  if (!name) problems.push('missing the service name');
  else if (!NAME.test(name) || name.length < NAME_LENGTH.min || name.length > NAME_LENGTH.max)
    problems.push(
      `service name "${name}" is not a DNS-1123 label: use ${NAME_LENGTH.min}-${NAME_LENGTH.max} lowercase letters, digits and '-', starting with a letter and ending with a letter or digit`,
    );
  else {
    const owner = catalogue.services.find((service) => service.name === name);
    if (owner)
      problems.push(
        `service name "${name}" is taken: catalogue.yaml lists it under team ${owner.team}`,
      );
    else if (catalogue.teamNames().includes(name))
      problems.push(`service name "${name}" is taken: it is a team's name in catalogue.yaml`);
    else if (workspaceNames(root).includes(name))
      problems.push(`service name "${name}" is taken: an npm workspace of that name exists`);
    else if (fs.existsSync(path.join(root, serviceDir(name))))
      problems.push(`service name "${name}" is taken: ${serviceDir(name)} exists`);
  }
  if (!team) problems.push(`missing --team <team> (teams: ${catalogue.teamNames().join(', ')})`);
  else if (!catalogue.teamNames().includes(team))
    problems.push(
      `unknown team "${team}" (teams: ${catalogue.teamNames().join(', ')}); a new team is added to catalogue.yaml first (README.md)`,
    );
  else if (name && fs.existsSync(path.join(root, deployDir(team, name))))
    problems.push(`service name "${name}" is taken: ${deployDir(team, name)} exists`);
  if (problems.length === 0) {
    // Whatever else the catalogue's own rules say (lengths of the names derived from it).
    try {
      parseCatalogue(catalogueWith(root, name, team), CATALOGUE_FILE);
    } catch (error) {
      problems.push(...(error.problems ?? [error.message]));
    }
  }
  return problems;
}

function catalogueDocument(root) {
  return parseDocument(fs.readFileSync(path.join(root, CATALOGUE_FILE), 'utf8'));
}

function teamNode(doc, team) {
  const node = doc.get('teams').items.find((item) => item.get('name') === team);
  if (!node) throw new Error(`${CATALOGUE_FILE}: no team ${team}`);
  return node;
}

/** catalogue.yaml's text with `name` appended to `team`'s services (comments kept). */
function catalogueWith(root, name, team) {
  const doc = catalogueDocument(root);
  teamNode(doc, team).get('services').add(doc.createNode({ name }));
  return doc.toString();
}

export function addToCatalogue(root, name, team) {
  fs.writeFileSync(path.join(root, CATALOGUE_FILE), catalogueWith(root, name, team));
}

export function removeFromCatalogue(root, name) {
  const doc = catalogueDocument(root);
  for (const team of doc.get('teams').items) {
    const services = team.get('services');
    const index = services.items.findIndex((item) => item.get('name') === name);
    if (index >= 0) services.items.splice(index, 1);
  }
  fs.writeFileSync(path.join(root, CATALOGUE_FILE), doc.toString());
}

const codeownersLine = (name, owners) => `${`/${serviceDir(name)}/`.padEnd(26)} ${owners}`;

/** Gives services/<name>/ to the team, next to the team's deploy folder line. */
export function addCodeowners(root, name, team) {
  const { owners } = readCatalogue(root).teams.find((candidate) => candidate.name === team);
  const file = path.join(root, CODEOWNERS);
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const anchor = lines.findIndex((line) => line.split(/\s+/)[0] === `/deploy/teams/${team}/`);
  if (anchor < 0) throw new Error(`${CODEOWNERS} has no line for /deploy/teams/${team}/`);
  lines.splice(anchor, 0, codeownersLine(name, owners));
  fs.writeFileSync(file, lines.join('\n'));
}

export function removeCodeowners(root, name) {
  const file = path.join(root, CODEOWNERS);
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  fs.writeFileSync(
    file,
    lines.filter((line) => line.split(/\s+/)[0] !== `/${serviceDir(name)}/`).join('\n'),
  );
}

/** The image name every overlay's images: entry uses, from scripts/repository.env. */
export function imageName(root, name) {
  const env = fs.readFileSync(path.join(root, 'scripts', 'repository.env'), 'utf8');
  const repository = env.match(/^GITHUB_REPOSITORY=(.*)$/m)?.[1]?.trim();
  if (!repository) throw new Error('scripts/repository.env has no GITHUB_REPOSITORY');
  return `ghcr.io/${repository.toLowerCase()}/${name}`;
}
