// Reads catalogue.yaml (the teams, their services and the environments) and validates it against
// catalogue.schema.json plus the rules a schema cannot say (unique names, name lengths). Plain
// CommonJS with no build step, so shell scripts, the delivery tool and TypeScript tests all load
// the same code. A problem is reported as `<file>: <entry> > <field>: <what is wrong>`.
const fs = require('node:fs');
const path = require('node:path');
const Ajv = require('ajv');
const YAML = require('yaml');

const CATALOGUE_FILE = 'catalogue.yaml';
const SCHEMA_FILE = 'catalogue.schema.json';
// Kubernetes object names and namespaces are DNS-1123 labels: 63 characters at most.
const MAX_LABEL = 63;

class CatalogueError extends Error {
  constructor(source, problems) {
    super(`${source} is invalid:\n${problems.map((problem) => `  ${problem}`).join('\n')}`);
    this.name = 'CatalogueError';
    this.problems = problems;
  }
}

/** The repository root: the nearest directory at or above `start` holding catalogue.yaml. */
function findRoot(start = process.cwd()) {
  let dir = path.resolve(start);
  for (;;) {
    if (fs.existsSync(path.join(dir, CATALOGUE_FILE))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no ${CATALOGUE_FILE} at or above ${start}`);
    dir = parent;
  }
}

// "teams[1] (billing) > services[0] (Antaeus) > name", from a JSON pointer into the data.
function describe(data, pointer, field) {
  const parts = [];
  let node = data;
  for (const token of pointer.split('/').slice(1)) {
    const key = token.replace(/~1/g, '/').replace(/~0/g, '~');
    node = node === null || node === undefined ? undefined : node[key];
    if (/^\d+$/.test(key) && parts.length > 0) {
      const name = node && typeof node === 'object' ? node.name : undefined;
      parts[parts.length - 1] += `[${key}]${typeof name === 'string' ? ` (${name})` : ''}`;
    } else parts.push(key);
  }
  if (field !== undefined) parts.push(field);
  return parts.length > 0 ? parts.join(' > ') : '(top level)';
}

let compiled;
function schemaValidator() {
  if (!compiled) {
    const schema = JSON.parse(fs.readFileSync(path.join(findRoot(__dirname), SCHEMA_FILE), 'utf8'));
    compiled = new Ajv({ allErrors: true, strict: true }).compile(schema);
  }
  return compiled;
}

function schemaProblems(data) {
  const validate = schemaValidator();
  if (validate(data)) return [];
  return validate.errors
    .filter((error) => error.keyword !== 'if')
    .map((error) => {
      const field = error.params.missingProperty ?? error.params.additionalProperty;
      const detail =
        error.keyword === 'additionalProperties'
          ? 'is not a known field'
          : error.keyword === 'required'
            ? 'is required'
            : error.message;
      return `${describe(data, error.instancePath, field)}: ${detail}`;
    });
}

function duplicates(names) {
  return [...new Set(names.filter((name, index) => names.indexOf(name) !== index))];
}

function ruleProblems(data) {
  const problems = [];
  const envs = data.environments;
  for (const name of duplicates(envs.map((env) => env.name)))
    problems.push(`environments > name: "${name}" is listed more than once`);
  for (const name of duplicates(data.teams.map((team) => team.name)))
    problems.push(`teams > name: team "${name}" is listed more than once`);
  const services = data.teams.flatMap((team, t) =>
    team.services.map((service, s) => ({ ...service, team: team.name, t, s })),
  );
  for (const name of duplicates(services.map((service) => service.name)))
    problems.push(`teams > services > name: service "${name}" is listed more than once`);
  const namespaces = new Map();
  data.teams.forEach((team, t) => {
    for (const env of envs) {
      const namespace = env.namespace.replace('{team}', team.name);
      if (namespace.length > MAX_LABEL)
        problems.push(
          `teams[${t}] (${team.name}) > name: namespace "${namespace}" of environment ${env.name} is longer than ${MAX_LABEL} characters`,
        );
      if (namespaces.has(namespace))
        problems.push(
          `environments > namespace: "${namespace}" is both ${namespaces.get(namespace)} and ${team.name}/${env.name}`,
        );
      namespaces.set(namespace, `${team.name}/${env.name}`);
    }
  });
  for (const service of services) {
    for (const env of envs) {
      const app = `${service.name}-${env.name}`;
      if (app.length > MAX_LABEL)
        problems.push(
          `teams[${service.t}] (${service.team}) > services[${service.s}] (${service.name}) > name: Application name "${app}" is longer than ${MAX_LABEL} characters`,
        );
    }
  }
  return problems;
}

/** Validates parsed catalogue data; returns the catalogue or throws a CatalogueError. */
function validateCatalogue(data, source = CATALOGUE_FILE) {
  const problems = schemaProblems(data);
  if (problems.length === 0) problems.push(...ruleProblems(data));
  if (problems.length > 0) throw new CatalogueError(source, problems);
  return makeCatalogue(data);
}

function makeCatalogue(data) {
  const environments = data.environments.map((env) => ({ ...env }));
  const teams = data.teams.map((team) => ({
    ...team,
    services: team.services.map((service) => ({ ...service })),
  }));
  const services = teams.flatMap((team) =>
    team.services.map((service) => ({ ...service, team: team.name })),
  );
  const environment = (name) => {
    const env = environments.find((candidate) => candidate.name === name);
    if (!env) throw new Error(`unknown environment "${name}"`);
    return env;
  };
  const service = (name) => {
    const found = services.find((candidate) => candidate.name === name);
    if (!found) throw new Error(`unknown service "${name}"`);
    return found;
  };
  return {
    environments,
    teams,
    services,
    environmentNames: () => environments.map((env) => env.name),
    serviceNames: () => services.map((candidate) => candidate.name),
    teamNames: () => teams.map((team) => team.name),
    environment,
    service,
    teamOf: (name) => service(name).team,
    namespace: (team, env) => environment(env).namespace.replace('{team}', team),
    namespacesOf: (team) => environments.map((env) => env.namespace.replace('{team}', team)),
    nextEnvironment: (name) => {
      const index = environments.indexOf(environment(name));
      return environments[index + 1]?.name;
    },
    serviceDir: (name) => `services/${name}`,
    deployDir: (name) => `deploy/teams/${service(name).team}/${name}`,
    overlayPath: (name, env) =>
      `deploy/teams/${service(name).team}/${name}/overlays/${environment(env).name}`,
  };
}

/** Parses YAML text and validates it. */
function parseCatalogue(text, source = CATALOGUE_FILE) {
  const doc = YAML.parseDocument(text);
  if (doc.errors.length > 0)
    throw new CatalogueError(
      source,
      doc.errors.map((error) => error.message),
    );
  return validateCatalogue(doc.toJS(), source);
}

/** Reads and validates `<root>/catalogue.yaml` (root: found from the working directory). */
function readCatalogue(root = findRoot()) {
  const file = path.join(root, CATALOGUE_FILE);
  return parseCatalogue(fs.readFileSync(file, 'utf8'), path.relative(process.cwd(), file) || file);
}

module.exports = {
  renderedDirectories: require('./kustomize-paths').renderedDirectories,
  CATALOGUE_FILE,
  SCHEMA_FILE,
  CatalogueError,
  findRoot,
  parseCatalogue,
  readCatalogue,
  validateCatalogue,
};
