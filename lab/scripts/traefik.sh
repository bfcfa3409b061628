#!/usr/bin/env bash
# TLS at the edge in the lab: Traefik, built from the pinned release (build.sh traefik), runs as
# the internal ingress controller that deploy/platform/internal-ingress names (its namespace,
# IngressClass and pod labels are read from there), so the antaeus Ingress of staging and prod is
# served over HTTPS with cert-manager's certificate, at LAB_INGRESS_IP.
#
#   traefik.sh start    the controller's image, its namespace, class, Service and pod
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TRAEFIK="$TRAEFIK_BIN/traefik"

# internal_ingress <field>: spec.<field> of the platform's IngressController, as JSON.
internal_ingress() {
  (cd "$LAB_ROOT" && node -e "
    const spec = require('yaml').parse(require('fs').readFileSync('deploy/platform/internal-ingress/controller.yaml', 'utf8')).spec;
    if (spec['$1'] === undefined) { console.error('deploy/platform/internal-ingress/controller.yaml has no spec.$1'); process.exit(1); }
    console.log(JSON.stringify(spec['$1']));")
}

start() {
  [ -x "$TRAEFIK" ] || lab_fail "$TRAEFIK is missing: bash lab/scripts/build.sh traefik first"
  local namespace class labels workload_labels image
  namespace="$(internal_ingress namespace | tr -d '"')"
  class="$(internal_ingress ingressClassName | tr -d '"')"
  labels="$(internal_ingress podLabels)"
  workload_labels="${labels%\}},\"lab.payments-gitops.example/workload\":\"traefik\"}"
  bash "$LAB_ROOT/lab/scripts/images.sh" engine
  # shellcheck disable=SC1091 # written by images.sh engine
  . "$LAB_DIR/images.env"
  image="$(binary_image "$TRAEFIK")"
  sed -e "s#\${INGRESS_NAMESPACE}#$namespace#g" -e "s#\${INGRESS_CLASS}#$class#g" \
    -e "s#\${INGRESS_IP}#$LAB_INGRESS_IP#g" -e "s#\${POD_LABELS}#$labels#g" \
    -e "s#\${WORKLOAD_LABELS}#$workload_labels#g" -e "s#\${TRAEFIK_IMAGE}#$image#g" \
    "$LAB_ROOT/lab/scripts/traefik/controller.yaml" | kubectl apply -f -
  kubectl -n "$namespace" rollout status deployment/traefik --timeout 120s
}

case "${1:-}" in
  start) "$1" ;;
  *) echo "usage: traefik.sh start" >&2 && exit 2 ;;
esac
