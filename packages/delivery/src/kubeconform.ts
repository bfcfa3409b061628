import path from 'node:path';
import { DeliveryError } from './errors';
import type { Repository } from './repository';
import { requireInstalled, toolPath, toolVersions, toolsDir } from './tools';

/**
 * The kubeconform command line that validates manifests offline, strictly (unknown fields are
 * errors), against the schemas scripts/install-tools.sh prepared: a resource without a schema
 * is an error, never skipped. Inputs are files, directories or `-` for stdin.
 */
export function kubeconformCommand(repo: Repository, inputs: string[]): [string, string[]] {
  const version = toolVersions(repo).KUBERNETES_SCHEMA_VERSION;
  if (!version) throw new DeliveryError('scripts/tools.versions has no KUBERNETES_SCHEMA_VERSION');
  const kubernetesSchemas = path.join(
    toolsDir(repo),
    'schemas',
    'kubernetes',
    `v${version}-strict`,
  );
  const crdSchemas = path.join(toolsDir(repo), 'schemas', 'crds');
  const kubeconform = requireInstalled(toolPath(repo, 'kubeconform'), 2);
  requireInstalled(path.join(kubernetesSchemas, '_definitions.json'), 2);
  requireInstalled(path.join(crdSchemas, '.source'), 2);
  return [
    kubeconform,
    [
      '-strict',
      '-summary',
      '-kubernetes-version',
      version,
      '-schema-location',
      `${kubernetesSchemas}/{{.ResourceKind}}{{.KindSuffix}}.json`,
      '-schema-location',
      `${crdSchemas}/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json`,
      ...inputs,
    ],
  ];
}
