export { repoRoot, freePort, sleep, waitForHttp, startProcess } from './process';
export type { ManagedProcess, StartOptions } from './process';
export { startRedis } from './redis';
export type { RedisServer } from './redis';
export { openApiValidator } from './openapi';
export { toolsDir, tool, kustomizeBuild } from './tools';
export type { K8sObject } from './tools';
export { authUnlessTokens } from './service-env';
export { jsonLineSink } from './log-sink';
