// Types of service-registration.mjs for its TypeScript caller, turbo/generators/config.mts.
export declare const DEFAULT_PORT: number;
export declare function serviceDir(name: string): string;
export declare function deployDir(team: string, name: string): string;
export declare function newServiceProblems(
  root: string,
  request: { name?: string; team?: string; description?: string },
): string[];
export declare function addToCatalogue(root: string, name: string, team: string): void;
export declare function removeFromCatalogue(root: string, name: string): void;
export declare function addCodeowners(root: string, name: string, team: string): void;
export declare function removeCodeowners(root: string, name: string): void;
export declare function imageName(root: string, name: string): string;
