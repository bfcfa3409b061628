#!/usr/bin/env bash
# Canaries in the lab: the Argo Rollouts controller, built from the pinned release (build.sh
# argo_rollouts), installed from the release's own cluster-install manifests with the lab's image,
# runs payment's Rollouts in staging and prod and their analyses against the lab's Prometheus.
#
#   rollouts.sh crd      the five CRDs (Rollout, AnalysisTemplate, AnalysisRun, ...), from the
#                        module (every lab, node or not: Argo CD syncs staging's Rollout either way)
#   rollouts.sh start    the CRDs, then the controller's image, RBAC and pod
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NAMESPACE=argo-rollouts
CONTROLLER="$ARGO_ROLLOUTS_BIN/rollouts-controller"

# Server-side: the Rollout CRD is larger than the 256 KiB annotation a client-side apply writes.
crd() {
  local module_dir crds
  module_dir="$(module_dir "$ARGO_ROLLOUTS_MODULE@$ARGO_ROLLOUTS_VERSION")"
  crds=("$module_dir"/manifests/crds/*-crd.yaml)
  kubectl apply --server-side --force-conflicts "${crds[@]/#/--filename=}"
  kubectl wait --for condition=Established --timeout 60s "${crds[@]/#/--filename=}"
}

# Upstream's cluster install (CRDs, ServiceAccount, ClusterRoles, Deployment, metrics Service)
# with the lab's image; its pod runs as upstream's image's user, which a FROM-scratch image lacks.
# kustomize takes the module's folder only by a relative path.
kustomization() {
  local dir="$1" module_dir="$2" image="$3"
  cat <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: $NAMESPACE
resources:
  - $(realpath --relative-to="$dir" "$module_dir/manifests/cluster-install")
images:
  - name: quay.io/argoproj/argo-rollouts
    newName: ${image%:*}
    newTag: ${image##*:}
patches:
  - target:
      kind: Deployment
      name: argo-rollouts
    patch: |-
      - op: add
        path: /spec/template/spec/securityContext/runAsUser
        value: 999
      - op: replace
        path: /spec/template/spec/containers/0/imagePullPolicy
        value: IfNotPresent
YAML
}

start() {
  [ -x "$CONTROLLER" ] || lab_fail "$CONTROLLER is missing: bash lab/scripts/build.sh argo_rollouts first"
  crd
  bash "$LAB_ROOT/lab/scripts/images.sh" engine
  # shellcheck disable=SC1091 # written by images.sh engine
  . "$LAB_DIR/images.env"
  local module_dir image dir="$LAB_DIR/argo-rollouts"
  module_dir="$(module_dir "$ARGO_ROLLOUTS_MODULE@$ARGO_ROLLOUTS_VERSION")"
  image="$(binary_image "$CONTROLLER" /bin)"
  mkdir -p "$dir"
  kustomization "$dir" "$module_dir" "$image" >"$dir/kustomization.yaml"
  kubectl create namespace "$NAMESPACE" --dry-run=client -o yaml | kubectl apply -f -
  "$TOOLS_DIR/bin/kustomize" build "$dir" | kubectl apply --server-side --force-conflicts -f -
  kubectl -n "$NAMESPACE" rollout status deployment/argo-rollouts --timeout 120s
}

case "${1:-}" in
  crd | start) "$1" ;;
  *) echo "usage: rollouts.sh crd|start" >&2 && exit 2 ;;
esac
