// Writes every service's Dockerfile (services/<name>/Dockerfile, for each service of
// catalogue.yaml) from the one template the new-service generator uses,
// turbo/generators/templates/service/Dockerfile.hbs, so the images cannot drift apart: what
// differs between them (name, description, port, the Node options of `npm start`) comes from the
// service's own files (scripts/lib/service-dockerfile.mjs). With --check it only reports a
// committed Dockerfile that differs.
//
//   node scripts/generate-dockerfiles.mjs [--check]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import catalogueModule from '@internal/catalogue';
import { parseCheckFlag, syncGeneratedFiles } from './lib/generated-files.mjs';
import {
  DOCKERFILE_TEMPLATE,
  dockerfilePath,
  renderDockerfile,
} from './lib/service-dockerfile.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const check = parseCheckFlag('generate-dockerfiles');

const files = new Map(
  catalogueModule
    .readCatalogue(root)
    .serviceNames()
    .map((name) => [dockerfilePath(name), renderDockerfile(root, name)]),
);
syncGeneratedFiles({
  root,
  files,
  check,
  source: DOCKERFILE_TEMPLATE,
  command: 'node scripts/generate-dockerfiles.mjs',
  label: 'dockerfiles',
});
