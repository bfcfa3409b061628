import fs from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { DeliveryError } from './errors';
import type { Generated } from './generator';
import type { Repository } from './repository';

// Every service's Dockerfile (services/<name>/Dockerfile, for each service of catalogue.yaml),
// rendered from the one template the new-service generator uses, so the images cannot drift
// apart: what differs between them (name, description, port, the Node options of `npm start`)
// is read from the service's own files. The Turborepo generator (turbo/generators/config.mts)
// writes a new service's Dockerfile with renderDockerfile too.

export const DOCKERFILE_TEMPLATE = 'turbo/generators/templates/service/Dockerfile.hbs';
export const dockerfilePath = (name: string): string => `services/${name}/Dockerfile`;

// The image's CMD runs dist/server.js with no options, so `npm start` may differ from it only in
// the Node options it passes, which the image then sets as NODE_OPTIONS. Options are words that
// need no quoting inside NODE_OPTIONS="...".
const START = /^node((?: --[A-Za-z0-9_=.,:-]+)*) dist\/server\.js$/;
// The port the service listens on without PORT, from its configuration schema.
const PORT = /\bPORT: envRules\.port\((\d+)\)/;
// The description lands inside a double-quoted LABEL value, where " \ and $ would not be literal.
const DESCRIPTION = /^[^"\\$\n]+$/;

/** The values the template names. */
interface DockerfileValues {
  name: string;
  description: string;
  port: number;
  nodeOptions: string;
}

const read = (root: string, file: string) => fs.readFileSync(path.join(root, file), 'utf8');

/** The values of the template for one service; throws naming the file a value cannot come from. */
function dockerfileValues(root: string, name: string): DockerfileValues {
  const packageFile = `services/${name}/package.json`;
  const { description, scripts } = JSON.parse(read(root, packageFile)) as {
    description?: string;
    scripts?: { start?: string };
  };
  const start = START.exec(scripts?.start ?? '');
  if (!start)
    throw new DeliveryError(
      `${packageFile}: scripts.start "${scripts?.start}" is not "node [--option ...] dist/server.js", which the image runs`,
    );
  if (description === undefined || !DESCRIPTION.test(description))
    throw new DeliveryError(
      `${packageFile}: description must be one line without " \\ or $ (it is the image's LABEL)`,
    );
  const configFile = `services/${name}/src/config.ts`;
  const port = PORT.exec(read(root, configFile));
  if (!port)
    throw new DeliveryError(`${configFile}: no default port (PORT: envRules.port(<port>))`);
  return { name, description, port: Number(port[1]), nodeOptions: (start[1] ?? '').trim() };
}

/** A service's Dockerfile: the template filled in with the values of its own files. */
export function renderDockerfile(root: string, name: string): string {
  // noEscape: the output is a Dockerfile, not HTML (escaping would turn "=" into "&#x3D;");
  // strict: a value the template names but the values lack is an error, not an empty string.
  const template = Handlebars.compile<DockerfileValues>(read(root, DOCKERFILE_TEMPLATE), {
    noEscape: true,
    strict: true,
  });
  return template(dockerfileValues(root, name));
}

/** The Dockerfile of every service of the catalogue. */
export function dockerfiles(repo: Repository): Generated {
  const files = new Map(
    repo.catalogue
      .serviceNames()
      .map((name): [string, string] => [dockerfilePath(name), renderDockerfile(repo.root, name)]),
  );
  return { label: 'dockerfiles', source: DOCKERFILE_TEMPLATE, files };
}
