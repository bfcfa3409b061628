import fs from 'node:fs';
import path from 'node:path';
import type { AggregatedResult } from '@jest/test-result';

interface ReporterContext {
  globalConfig: { rootDir: string };
}

/**
 * Writes `.test-results/jest.json` in the workspace with the run's counts. A suite that fails
 * to load has no tests of its own, so it counts as one failure: nothing broken can hide.
 */
class ResultFileReporter {
  constructor(private readonly globalConfig: ReporterContext['globalConfig']) {}

  onRunComplete(_contexts: unknown, results: AggregatedResult): void {
    const summary = {
      passed: results.numPassedTests,
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
    };
    const dir = path.join(this.globalConfig.rootDir, '.test-results');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'jest.json'), `${JSON.stringify(summary)}\n`);
  }
}

export = ResultFileReporter;
