// `turbo gen run new-service`: a new service from the templates beside this file, registered in
// catalogue.yaml and .github/CODEOWNERS. `npm run new-service -- <name> --team <team>`
// (`delivery new-service`) runs it, then `delivery generate` for the files derived from the
// catalogue, and undoes everything if a step fails.
import fs from 'node:fs';
import path from 'node:path';
import type { PlopTypes } from '@turbo/gen';
import catalogueModule from '@internal/catalogue';
import {
  DEFAULT_PORT,
  DOCKERFILE_TEMPLATE,
  addCodeowners,
  addToCatalogue,
  deployDir,
  dockerfilePath,
  imageName,
  newServiceProblems,
  renderDockerfile,
  serviceDir,
} from '@internal/delivery';

// The tag an overlay names until the release workflow builds the first image and bumps dev.
const UNRELEASED_TAG = '0.0.0-unreleased';

interface Answers {
  name: string;
  team: string;
  description: string;
}

export default function generator(plop: PlopTypes.NodePlopAPI): void {
  const root = plop.getDestBasePath();
  const catalogue = catalogueModule.readCatalogue(root);
  // The folder of this file (bundled to CommonJS by @turbo/gen, so no import.meta here).
  const templates = path.join(plop.getPlopfilePath(), 'templates');

  plop.setGenerator('new-service', {
    description:
      'A service on packages/service-kit, with its manifests, catalogue entry and owners',
    prompts: [
      { type: 'input', name: 'name', message: 'Service name (a DNS-1123 label)' },
      {
        type: 'list',
        name: 'team',
        message: 'Owning team',
        choices: catalogue.teamNames(),
      },
      {
        type: 'input',
        name: 'description',
        message: 'One line: what the service does',
        default: 'A service of the payments platform',
      },
    ],
    actions: (data) => {
      const { name, team, description } = data as Answers;
      const common = { port: DEFAULT_PORT, image: imageName(root, name), tag: UNRELEASED_TAG };
      return [
        // Everything is checked before the first file is written.
        () => {
          const problems = newServiceProblems(root, { name, team, description });
          if (problems.length > 0) throw new Error(problems.join('\n'));
          return `${name} can be added to team ${team}`;
        },
        {
          type: 'addMany',
          destination: serviceDir(name),
          base: path.join(templates, 'service'),
          // The Dockerfile is rendered below, by the code that renders every service's.
          templateFiles: [
            path.join(templates, 'service', '**', '*'),
            `!${path.join(templates, 'service', 'Dockerfile.hbs')}`,
          ],
          stripExtensions: ['hbs'],
          globOptions: { dot: false },
          data: common,
          abortOnFail: true,
        },
        // Rendered as `delivery generate` renders every service's, from the files written above
        // (package.json, src/config.ts), so it passes `delivery generate --check`.
        () => {
          fs.writeFileSync(path.join(root, dockerfilePath(name)), renderDockerfile(root, name));
          return `${dockerfilePath(name)} rendered from ${DOCKERFILE_TEMPLATE}`;
        },
        {
          type: 'addMany',
          destination: `${deployDir(team, name)}/base`,
          base: path.join(templates, 'deploy', 'base'),
          templateFiles: path.join(templates, 'deploy', 'base', '*'),
          stripExtensions: ['hbs'],
          globOptions: { dot: false },
          data: common,
          abortOnFail: true,
        },
        ...catalogue.environmentNames().map((environment) => ({
          type: 'add',
          path: `${deployDir(team, name)}/overlays/${environment}/kustomization.yaml`,
          templateFile: path.join(templates, 'deploy', 'overlay', 'kustomization.yaml.hbs'),
          data: { ...common, environment, namespace: catalogue.namespace(team, environment) },
          abortOnFail: true,
        })),
        () => {
          addToCatalogue(root, name, team);
          return `catalogue.yaml: ${name} added to team ${team}`;
        },
        () => {
          addCodeowners(root, name, team);
          return `.github/CODEOWNERS: /services/${name}/ given to team ${team}`;
        },
      ];
    },
  });
}
