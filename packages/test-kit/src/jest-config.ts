import path from 'node:path';

/**
 * The Jest settings every workspace shares. Tests are TypeScript run through ts-jest without
 * type checking (the `typecheck` task does that), every test file first checks it runs on the
 * pinned Node release (pinned-node.ts), and every run records its counts so that `.ci/run` can
 * print one total across workspaces.
 */
export function jestConfig(workspaceDir: string, overrides: Record<string, unknown> = {}) {
  return {
    rootDir: workspaceDir,
    testEnvironment: 'node',
    testMatch: ['<rootDir>/**/*.test.ts'],
    testPathIgnorePatterns: ['/node_modules/', '/dist/'],
    transform: { '^.+\\.ts$': ['ts-jest', {}] },
    testTimeout: 30_000,
    setupFiles: [path.join(__dirname, 'pinned-node.js')],
    reporters: ['default', path.join(__dirname, 'result-file-reporter.js')],
    ...overrides,
  };
}
