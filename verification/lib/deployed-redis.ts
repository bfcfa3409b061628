import path from 'node:path';
import { expandVariables, kustomizeBuild, repoRoot } from '@internal/test-kit';
import { podSpecsOf } from './pod-specs';

/**
 * The redis-server arguments the dev environment's manifests give the Redis container, so the
 * local stack fails the way the deployed one would (durability above all: `--appendfsync`).
 * `$(NAME)` references are expanded from `variables` as the kubelet expands them from the
 * container's environment (the password from its Secret); an unknown one stays as written.
 */
export function deployedRedisArgs(env = 'dev', variables: Record<string, string> = {}): string[] {
  const objects = kustomizeBuild(path.join(repoRoot(), 'deploy', 'envs', env));
  const redis = objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/name'] === 'redis');
  const container = podSpecsOf(redis)
    .flatMap(({ pod }) => pod.containers ?? [])
    .find((c) => c.name === 'redis') as { args?: string[] } | undefined;
  if (!container?.args?.length) {
    throw new Error(`deploy/envs/${env} renders no Redis container with args to run locally`);
  }
  return container.args.map((arg) => expandVariables(arg, variables));
}
