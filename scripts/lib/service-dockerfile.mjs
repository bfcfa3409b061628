// A service's Dockerfile, rendered from the one template every service image follows
// (turbo/generators/templates/service/Dockerfile.hbs) with the few values that differ between
// services, each read from the service's own files. The Turborepo generator writes a new
// service's Dockerfile with it, and scripts/generate-dockerfiles.mjs keeps every committed one
// equal to its rendering. No import.meta here: @turbo/gen bundles its importer to CommonJS.
import fs from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';

export const DOCKERFILE_TEMPLATE = 'turbo/generators/templates/service/Dockerfile.hbs';
export const dockerfilePath = (name) => `services/${name}/Dockerfile`;

// The image's CMD runs dist/server.js with no options, so `npm start` may differ from it only in
// the Node options it passes, which the image then sets as NODE_OPTIONS. Options are words that
// need no quoting inside NODE_OPTIONS="...".
const START = /^node((?: --[A-Za-z0-9_=.,:-]+)*) dist\/server\.js$/;
// The port the service listens on without PORT, from its configuration schema.
const PORT = /\bPORT: envRules\.port\((\d+)\)/;
// The description lands inside a double-quoted LABEL value, where " \ and $ would not be literal.
const DESCRIPTION = /^[^"\\$\n]+$/;

const read = (root, file) => fs.readFileSync(path.join(root, file), 'utf8');

/** The values of the template for one service; throws naming the file a value cannot come from. */
export function dockerfileValues(root, name) {
  const packageFile = `services/${name}/package.json`;
  const { description, scripts } = JSON.parse(read(root, packageFile));
  const start = START.exec(scripts?.start ?? '');
  if (!start)
    throw new Error(
      `${packageFile}: scripts.start "${scripts?.start}" is not "node [--option ...] dist/server.js", which the image runs`,
    );
  if (!DESCRIPTION.test(description ?? ''))
    throw new Error(
      `${packageFile}: description must be one line without " \\ or $ (it is the image's LABEL)`,
    );
  const configFile = `services/${name}/src/config.ts`;
  const port = PORT.exec(read(root, configFile));
  if (!port) throw new Error(`${configFile}: no default port (PORT: envRules.port(<port>))`);
  return { name, description, port: Number(port[1]), nodeOptions: start[1].trim() };
}

export function renderDockerfile(root, name) {
  // noEscape: the output is a Dockerfile, not HTML (escaping would turn "=" into "&#x3D;");
  // strict: a value the template names but the values lack is an error, not an empty string.
  const template = Handlebars.compile(read(root, DOCKERFILE_TEMPLATE), {
    noEscape: true,
    strict: true,
  });
  return template(dockerfileValues(root, name));
}
