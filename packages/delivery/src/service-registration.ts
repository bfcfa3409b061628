import fs from 'node:fs';
import path from 'node:path';
import { CATALOGUE_FILE, parseCatalogue, readCatalogue } from '@internal/catalogue';
import { parseDocument, type Document, type YAMLMap, type YAMLSeq } from 'yaml';

// What registering a service means outside its own folders: the checks a new name must pass,
// its entry in catalogue.yaml and its line in .github/CODEOWNERS. Shared by the Turborepo
// generator (turbo/generators/config.mts) and the new-service / remove-service commands.

const CODEOWNERS = '.github/CODEOWNERS';
// Where the generated folders go; also what remove-service deletes.
export const serviceDir = (name: string): string => `services/${name}`;
export const deployDir = (team: string, name: string): string => `deploy/teams/${team}/${name}`;
// The port a generated service listens on (each runs in its own pod, so they need not differ).
export const DEFAULT_PORT = 8080;
// As catalogue.schema.json's name: a DNS-1123 label short enough for the -<environment> suffix.
const NAME = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;
const NAME_LENGTH = { min: 2, max: 40 };
// The description lands in package.json, YAML, a Dockerfile LABEL and Markdown unescaped: only
// characters that need no quoting in any of them.
const DESCRIPTION = /^[A-Za-z0-9][A-Za-z0-9 ,;:()/+-]{2,119}$/;

const readJson = (file: string) =>
  JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;

/** The npm workspace names in use: a service's folder name is its workspace's package name. */
function workspaceNames(root: string): string[] {
  const workspaces = readJson(path.join(root, 'package.json')).workspaces as string[];
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
      .map((file) => readJson(file).name as string);
  });
}

export interface NewServiceRequest {
  name?: string;
  team?: string;
  description?: string;
}

/** Why `name` cannot become a service of `team`: one message per problem, empty when it can. */
export function newServiceProblems(
  root: string,
  { name, team, description }: NewServiceRequest,
): string[] {
  const catalogue = readCatalogue(root);
  const teams = catalogue.teamNames();
  const problems: string[] = [];
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
    else if (teams.includes(name))
      problems.push(`service name "${name}" is taken: it is a team's name in catalogue.yaml`);
    else if (workspaceNames(root).includes(name))
      problems.push(`service name "${name}" is taken: an npm workspace of that name exists`);
    else if (fs.existsSync(path.join(root, serviceDir(name))))
      problems.push(`service name "${name}" is taken: ${serviceDir(name)} exists`);
  }
  if (!team) problems.push(`missing --team <team> (teams: ${teams.join(', ')})`);
  else if (!teams.includes(team))
    problems.push(
      `unknown team "${team}" (teams: ${teams.join(', ')}); a new team is added to catalogue.yaml first (README.md)`,
    );
  else if (name && fs.existsSync(path.join(root, deployDir(team, name))))
    problems.push(`service name "${name}" is taken: ${deployDir(team, name)} exists`);
  if (problems.length === 0 && name && team) {
    // Whatever else the catalogue's own rules say (lengths of the names derived from it).
    try {
      parseCatalogue(catalogueWith(root, name, team), CATALOGUE_FILE);
    } catch (error) {
      const { problems: invalid, message } = error as { problems?: string[]; message: string };
      problems.push(...(invalid ?? [message]));
    }
  }
  return problems;
}

const catalogueDocument = (root: string): Document =>
  parseDocument(fs.readFileSync(path.join(root, CATALOGUE_FILE), 'utf8'));

const teamNodes = (doc: Document) => (doc.get('teams') as YAMLSeq<YAMLMap>).items;

/** catalogue.yaml's text with `name` appended to `team`'s services (comments kept). */
function catalogueWith(root: string, name: string, team: string): string {
  const doc = catalogueDocument(root);
  const node = teamNodes(doc).find((item) => item.get('name') === team);
  if (!node) throw new Error(`${CATALOGUE_FILE}: no team ${team}`);
  (node.get('services') as YAMLSeq).add(doc.createNode({ name }));
  return doc.toString();
}

export function addToCatalogue(root: string, name: string, team: string): void {
  fs.writeFileSync(path.join(root, CATALOGUE_FILE), catalogueWith(root, name, team));
}

export function removeFromCatalogue(root: string, name: string): void {
  const doc = catalogueDocument(root);
  for (const team of teamNodes(doc)) {
    const services = team.get('services') as YAMLSeq<YAMLMap>;
    const index = services.items.findIndex((item) => item.get('name') === name);
    if (index >= 0) services.items.splice(index, 1);
  }
  fs.writeFileSync(path.join(root, CATALOGUE_FILE), doc.toString());
}

const codeownersLine = (name: string, owners: string) =>
  `${`/${serviceDir(name)}/`.padEnd(26)} ${owners}`;

/** Gives services/<name>/ to the team, next to the team's deploy folder line. */
export function addCodeowners(root: string, name: string, team: string): void {
  const owners = readCatalogue(root).teams.find((candidate) => candidate.name === team)?.owners;
  if (!owners) throw new Error(`${CATALOGUE_FILE}: no team ${team}`);
  const file = path.join(root, CODEOWNERS);
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const anchor = lines.findIndex((line) => line.split(/\s+/)[0] === `/deploy/teams/${team}/`);
  if (anchor < 0) throw new Error(`${CODEOWNERS} has no line for /deploy/teams/${team}/`);
  lines.splice(anchor, 0, codeownersLine(name, owners));
  fs.writeFileSync(file, lines.join('\n'));
}

export function removeCodeowners(root: string, name: string): void {
  const file = path.join(root, CODEOWNERS);
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  fs.writeFileSync(
    file,
    lines.filter((line) => line.split(/\s+/)[0] !== `/${serviceDir(name)}/`).join('\n'),
  );
}

/** The image name every overlay's images: entry uses, from scripts/repository.env. */
export function imageName(root: string, name: string): string {
  const env = fs.readFileSync(path.join(root, 'scripts', 'repository.env'), 'utf8');
  const repository = /^GITHUB_REPOSITORY=(.*)$/m.exec(env)?.[1]?.trim();
  if (!repository) throw new Error('scripts/repository.env has no GITHUB_REPOSITORY');
  return `ghcr.io/${repository.toLowerCase()}/${name}`;
}
