export declare const CATALOGUE_FILE: string;
export declare const SCHEMA_FILE: string;

export type SyncWindow = { schedule: string; duration: string; timeZone: string };

export type Environment = {
  name: string;
  /** The namespace pattern; `{team}` stands for the team's name. */
  namespace: string;
  autoSync: boolean;
  prune: boolean;
  syncWindow?: SyncWindow;
};

export type Team = {
  name: string;
  owners: string;
  description: string;
  services: { name: string }[];
};

export type Service = { name: string; team: string };

export type Catalogue = {
  environments: Environment[];
  teams: Team[];
  services: Service[];
  environmentNames(): string[];
  serviceNames(): string[];
  teamNames(): string[];
  environment(name: string): Environment;
  service(name: string): Service;
  teamOf(service: string): string;
  namespace(team: string, env: string): string;
  namespacesOf(team: string): string[];
  /** The environment a release moves to next, undefined after the last. */
  nextEnvironment(env: string): string | undefined;
  serviceDir(service: string): string;
  deployDir(service: string): string;
  overlayPath(service: string, env: string): string;
};

export declare class CatalogueError extends Error {
  problems: string[];
}

export declare function findRoot(start?: string): string;
export declare function parseCatalogue(text: string, source?: string): Catalogue;
export declare function readCatalogue(root?: string): Catalogue;
export declare function validateCatalogue(data: unknown, source?: string): Catalogue;
export declare function renderedDirectories(dir: string): string[];
