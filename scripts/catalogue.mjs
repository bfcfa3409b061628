// Answers questions about catalogue.yaml for shell scripts and workflows, after validating it.
//
//   node scripts/catalogue.mjs check                 validate; print a summary
//   node scripts/catalogue.mjs services              one service per line
//   node scripts/catalogue.mjs environments          one environment per line, in promotion order
//   node scripts/catalogue.mjs teams                 one team per line
//   node scripts/catalogue.mjs applications          each service Application (<service>-<env>)
//   node scripts/catalogue.mjs team-of <service>     the owning team (exit 1 when unknown)
//   node scripts/catalogue.mjs next-environment <env> the next environment (exit 1 after the last)
//   node scripts/catalogue.mjs namespace <team> <env>
//   node scripts/catalogue.mjs json                  the whole catalogue, with services flattened
//
// A bad catalogue fails every command with exit code 3 and one line per problem.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import catalogueModule from '@internal/catalogue';

const { CatalogueError, readCatalogue } = catalogueModule;
const USAGE =
  'usage: node scripts/catalogue.mjs check|services|environments|teams|applications|json|team-of <service>|next-environment <env>|namespace <team> <env>';

let catalogue;
try {
  // The catalogue of the checkout this script is in, wherever it is called from.
  catalogue = readCatalogue(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..'));
} catch (error) {
  if (!(error instanceof CatalogueError)) throw error;
  console.error(`error: ${error.message}`);
  process.exit(3);
}

const [command, ...args] = process.argv.slice(2);
const arity = { 'team-of': 1, 'next-environment': 1, namespace: 2 };
if ((arity[command] ?? 0) !== args.length) {
  console.error(USAGE);
  process.exit(2);
}
const lines = (items) => items.length > 0 && console.log(items.join('\n'));
const known = (value, list, what) => {
  if (list.includes(value)) return;
  console.error(`error: unknown ${what} '${value}' (known: ${list.join(' ')})`);
  process.exit(1);
};

switch (command) {
  case 'check':
    console.log(
      `catalogue.yaml: ${catalogue.teams.length} teams, ${catalogue.services.length} services, environments ${catalogue.environmentNames().join(' → ')}`,
    );
    break;
  case 'services':
    lines(catalogue.serviceNames());
    break;
  case 'environments':
    lines(catalogue.environmentNames());
    break;
  case 'teams':
    lines(catalogue.teamNames());
    break;
  case 'applications':
    lines(
      catalogue.services.flatMap((service) =>
        catalogue.environmentNames().map((env) => `${service.name}-${env}`),
      ),
    );
    break;
  case 'json':
    console.log(
      JSON.stringify({
        environments: catalogue.environments,
        teams: catalogue.teams,
        services: catalogue.services,
      }),
    );
    break;
  case 'team-of':
    known(args[0], catalogue.serviceNames(), 'service');
    console.log(catalogue.teamOf(args[0]));
    break;
  case 'next-environment': {
    known(args[0], catalogue.environmentNames(), 'environment');
    const next = catalogue.nextEnvironment(args[0]);
    if (next === undefined) process.exit(1);
    console.log(next);
    break;
  }
  case 'namespace':
    known(args[0], catalogue.teamNames(), 'team');
    known(args[1], catalogue.environmentNames(), 'environment');
    console.log(catalogue.namespace(args[0], args[1]));
    break;
  default:
    console.error(USAGE);
    process.exit(2);
}
