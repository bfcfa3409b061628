#!/usr/bin/env bash
# Certificates in the lab: cert-manager's controller, built from the pinned release (build.sh
# cert_manager), runs as a pod in the cert-manager namespace, which is also where the Secrets of
# ClusterIssuers live (its cluster resource namespace). The controller alone: no webhook, no
# cainjector (lab/scripts/cert-manager/controller.yaml says why).
#
#   cert-manager.sh crd      the six CRDs (cert-manager.io, acme.cert-manager.io), from the module
#                            (every lab, node or not)
#   cert-manager.sh start    the CRDs, then the controller's image and pod
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NAMESPACE=cert-manager
CONTROLLER="$CERT_MANAGER_BIN/cert-manager-controller"

# The root module, which the Go proxy serves, carries the CRDs as plain YAML (deploy/crds).
# Server-side: three of them are larger than the 256 KiB annotation a client-side apply writes.
crd() {
  local module_dir
  module_dir="$(module_dir "$CERT_MANAGER_MODULE@$CERT_MANAGER_VERSION")"
  local crds=("$module_dir"/deploy/crds/*.yaml)
  kubectl apply --server-side --force-conflicts "${crds[@]/#/--filename=}"
  kubectl wait --for condition=Established --timeout 60s "${crds[@]/#/--filename=}"
}

start() {
  [ -x "$CONTROLLER" ] || lab_fail "$CONTROLLER is missing: bash lab/scripts/build.sh cert_manager first"
  crd
  bash "$LAB_ROOT/lab/scripts/images.sh" engine
  # shellcheck disable=SC1091 # written by images.sh engine
  . "$LAB_DIR/images.env"
  local image
  image="$(binary_image "$CONTROLLER")"
  sed "s#\${CERT_MANAGER_IMAGE}#$image#" "$LAB_ROOT/lab/scripts/cert-manager/controller.yaml" | kubectl apply -f -
  kubectl -n "$NAMESPACE" rollout status deployment/cert-manager --timeout 120s
}

case "${1:-}" in
  crd | start) "$1" ;;
  *) echo "usage: cert-manager.sh crd|start" >&2 && exit 2 ;;
esac
