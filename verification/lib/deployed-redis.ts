import path from 'node:path';
import { kustomizeBuild, repoRoot } from '@internal/test-kit';
import { podSpecsOf } from './pod-specs';

/**
 * The redis-server arguments the dev environment's manifests give the Redis container, so the
 * local stack fails the way the deployed one would (durability above all: `--appendfsync`).
 */
export function deployedRedisArgs(env = 'dev'): string[] {
  const objects = kustomizeBuild(path.join(repoRoot(), 'deploy', 'envs', env));
  const redis = objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/name'] === 'redis');
  const container = podSpecsOf(redis)
    .flatMap(({ pod }) => pod.containers ?? [])
    .find((c) => c.name === 'redis') as { args?: string[] } | undefined;
  if (!container?.args?.length) {
    throw new Error(`deploy/envs/${env} renders no Redis container with args to run locally`);
  }
  return container.args;
}
