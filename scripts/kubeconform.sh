#!/usr/bin/env bash
# Validates Kubernetes and Argo CD manifests offline with the pinned kubeconform, strictly
# (unknown fields are errors) and against the schemas scripts/install-tools.sh prepared.
# A resource without a schema is an error, never skipped.
#
#   scripts/kubeconform.sh FILE...                       # YAML files or directories
#   kustomize build deploy/envs/dev | scripts/kubeconform.sh -
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="${TOOLS_DIR:-$ROOT/.tools}"
# shellcheck source-path=SCRIPTDIR source=tools.versions
. "$ROOT/scripts/tools.versions"

if [ "$#" -eq 0 ]; then
  echo "usage: $0 FILE|DIR|- ..." >&2
  exit 2
fi
kubeconform="$TOOLS_DIR/bin/kubeconform"
kubernetes_schemas="$TOOLS_DIR/schemas/kubernetes/v$KUBERNETES_SCHEMA_VERSION-strict"
crd_schemas="$TOOLS_DIR/schemas/crds"
for needed in "$kubeconform" "$kubernetes_schemas/_definitions.json" "$crd_schemas/.source"; do
  [ -e "$needed" ] || {
    echo "kubeconform.sh: $needed is missing: run scripts/install-tools.sh" >&2
    exit 2
  }
done

exec "$kubeconform" -strict -summary \
  -kubernetes-version "$KUBERNETES_SCHEMA_VERSION" \
  -schema-location "$kubernetes_schemas/{{.ResourceKind}}{{.KindSuffix}}.json" \
  -schema-location "$crd_schemas/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json" \
  "$@"
