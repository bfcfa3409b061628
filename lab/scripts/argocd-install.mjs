// Prints the part of Argo CD's official install manifest that configures the cluster: CRDs,
// ServiceAccounts, RBAC, ConfigMaps and Secrets. The lab runs the components as processes on
// loopback instead of as Deployments, so workloads, Services and NetworkPolicies are left out.
//
//   node lab/scripts/argocd-install.mjs <install.yaml>
import { readFileSync } from 'node:fs';
import { parseAllDocuments, stringify } from 'yaml';

const kept = new Set([
  'CustomResourceDefinition',
  'ServiceAccount',
  'Role',
  'ClusterRole',
  'RoleBinding',
  'ClusterRoleBinding',
  'ConfigMap',
  'Secret',
]);

const [file] = process.argv.slice(2);
if (!file) {
  console.error('usage: argocd-install.mjs <install.yaml>');
  process.exit(2);
}
const documents = parseAllDocuments(readFileSync(file, 'utf8')).map((doc) => doc.toJSON());
const objects = documents.filter((object) => object && kept.has(object.kind));
if (!objects.some((object) => object.kind === 'CustomResourceDefinition')) {
  console.error(`${file}: no CustomResourceDefinition found; is this Argo CD's install.yaml?`);
  process.exit(1);
}
process.stdout.write(objects.map((object) => stringify(object)).join('---\n'));
