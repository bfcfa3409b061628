import { DeliveryError } from './errors';
import type { Repository } from './repository';

/** Answers about catalogue.yaml, one item a line, for workflows and shell scripts. */
export const catalogueQueries = {
  check: (repo: Repository) => {
    const { teams, services } = repo.catalogue;
    return [
      `catalogue.yaml: ${teams.length} teams, ${services.length} services, environments ${repo.catalogue.environmentNames().join(' → ')}`,
    ];
  },
  services: (repo: Repository) => repo.catalogue.serviceNames(),
  environments: (repo: Repository) => repo.catalogue.environmentNames(),
  teams: (repo: Repository) => repo.catalogue.teamNames(),
  applications: (repo: Repository) => {
    const envs = repo.catalogue.environmentNames();
    return repo.catalogue
      .serviceNames()
      .flatMap((service) => envs.map((env) => `${service}-${env}`));
  },
  json: (repo: Repository) => {
    const { environments, teams, services } = repo.catalogue;
    return [JSON.stringify({ environments, teams, services })];
  },
  'team-of': (repo: Repository, service: string) => [
    repo.catalogue.teamOf(repo.requireService(service)),
  ],
  'next-environment': (repo: Repository, env: string) => {
    const next = repo.catalogue.nextEnvironment(repo.requireEnvironment(env));
    if (next === undefined) throw new DeliveryError(`${env} is the last environment`);
    return [next];
  },
  namespace: (repo: Repository, team: string, env: string) => [
    repo.catalogue.namespace(repo.requireTeam(team), repo.requireEnvironment(env)),
  ],
} satisfies Record<string, (repo: Repository, ...args: string[]) => string[]>;
