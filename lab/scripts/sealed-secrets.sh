#!/usr/bin/env bash
# Secrets from Git, in the lab: the Sealed Secrets controller, built from the pinned module, runs
# as a pod in kube-system and makes the lab cluster's own sealing key, which never leaves the
# cluster. The lab repository, like any fork on its own cluster, then seals every environment's
# Secrets for that key (`delivery seal-environment`), so lab:up has no manual secret step.
#
#   sealed-secrets.sh crd      the SealedSecret CRD, from the module (every lab, node or not)
#   sealed-secrets.sh start    the controller's image and pod; its certificate in .lab/sealed-secrets.pem
#   sealed-secrets.sh seal     in the lab repository: every environment sealed for that certificate,
#                              committed and pushed
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CERT="$LAB_DIR/sealed-secrets.pem"
LAB_REPO="$LAB_DIR/repo"
SEAL_COMMIT="lab: every environment's Secrets sealed for the lab's Sealed Secrets controller"
kubeseal() { "$TOOLS_DIR/bin/kubeseal" --kubeconfig="$LAB_DIR/admin.kubeconfig" "$@"; }

crd() {
  local module_dir
  module_dir="$(module_dir "$SEALED_SECRETS_MODULE@$SEALED_SECRETS_VERSION")"
  kubectl apply --server-side --force-conflicts -f "$module_dir/helm/sealed-secrets/crds/bitnami.com_sealedsecrets.yaml"
  kubectl wait --for condition=Established --timeout 60s crd/sealedsecrets.bitnami.com
}

fetch_cert() { kubeseal --fetch-cert >"$CERT.partial" && [ -s "$CERT.partial" ] && mv "$CERT.partial" "$CERT"; }

start() {
  crd
  bash "$LAB_ROOT/lab/scripts/images.sh" engine
  # shellcheck disable=SC1091 # written by images.sh engine
  . "$LAB_DIR/images.env"
  local image
  image="$(binary_image "$SEALED_SECRETS_BIN/sealed-secrets-controller")"
  sed "s#\${SEALED_SECRETS_IMAGE}#$image#" "$LAB_ROOT/lab/scripts/sealed-secrets/controller.yaml" | kubectl apply -f -
  kubectl -n kube-system rollout status deployment/sealed-secrets-controller --timeout 120s
  # The certificate as users fetch it: through the API server's proxy to the controller.
  wait_for "the controller's certificate (kubeseal --fetch-cert)" 60 fetch_cert ||
    lab_fail "kubeseal --fetch-cert gave no certificate (controller log: kubectl -n kube-system logs deploy/sealed-secrets-controller)"
}

seal() {
  [ -s "$CERT" ] || lab_fail "$CERT is missing: sealed-secrets.sh start first"
  cd "$LAB_REPO"
  # The lab repository has no tools of its own: the checkout's (kustomize, kubeseal).
  export TOOLS_DIR
  ! grep -qx "$SEAL_COMMIT" < <(git log --format=%s) || return 0
  local env
  for env in $(delivery catalogue environments); do delivery seal-environment "$env" --cert "$CERT"; done
  git add -A deploy
  git commit -qm "$SEAL_COMMIT"
  git push -q origin main
}

case "${1:-}" in
  crd | start | seal) "$1" ;;
  *) echo "usage: sealed-secrets.sh crd|start|seal" >&2 && exit 2 ;;
esac
