// Types of service-dockerfile.mjs for its TypeScript caller, turbo/generators/config.mts.
export declare const DOCKERFILE_TEMPLATE: string;
export declare function dockerfilePath(name: string): string;
export declare function renderDockerfile(root: string, name: string): string;
