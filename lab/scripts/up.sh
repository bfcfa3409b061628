#!/usr/bin/env bash
# `npm run lab:up`: a real Kubernetes control plane and a real Argo CD on 127.0.0.1, bootstrapped
# from a git server on loopback exactly as argocd/README.md tells a user. Idempotent: what already
# runs is reused. Writes .lab/env (source it for kubectl, argocd and the lab's URLs).
#
# Environment: LAB_WAIT_SECONDS (default 420) bounds the wait for the Applications to sync.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=pki.sh
. "$LAB_ROOT/lab/scripts/pki.sh"
# shellcheck source-path=SCRIPTDIR source=processes.sh
. "$LAB_ROOT/lab/scripts/processes.sh"
# shellcheck source-path=SCRIPTDIR source=control-plane.sh
. "$LAB_ROOT/lab/scripts/control-plane.sh"
# shellcheck source-path=SCRIPTDIR source=repository.sh
. "$LAB_ROOT/lab/scripts/repository.sh"
# shellcheck source-path=SCRIPTDIR source=argocd.sh
. "$LAB_ROOT/lab/scripts/argocd.sh"
# shellcheck source-path=SCRIPTDIR source=environments.sh
. "$LAB_ROOT/lab/scripts/environments.sh"

# Over five minutes: a pod the scheduler found no room for while a canary's extra pods ran (the
# node has two CPUs) may wait for its periodic retry of unschedulable pods, every five minutes.
LAB_WAIT_SECONDS="${LAB_WAIT_SECONDS:-420}"
[[ "$LAB_WAIT_SECONDS" =~ ^[0-9]+$ ]] || lab_fail "LAB_WAIT_SECONDS must be a whole number of seconds, got '$LAB_WAIT_SECONDS'"

ARGOCD_NS=argocd
LAB_GIT_URL="git://127.0.0.1:$LAB_GIT_PORT/payments-gitops.git"
LAB_REPO="$LAB_DIR/repo"

require_host_tools() {
  local missing=() tool
  for tool in openssl git redis-server curl; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  [ ${#missing[@]} -eq 0 ] || lab_fail "missing host tools: ${missing[*]} (Debian: apt-get install openssl git redis-server curl)"
}

write_env() {
  cat >"$LAB_DIR/env" <<ENV
# Written by npm run lab:up; source it: . .lab/env
export KUBECONFIG=$ADMIN_KUBECONFIG
export PATH=$K8S_BIN:$ARGOCD_BIN:\$PATH
export LAB_REPO=$LAB_REPO
export LAB_GIT_URL=$LAB_GIT_URL
export ARGOCD_URL=http://127.0.0.1:$LAB_ARGOCD_SERVER_PORT
export ARGOCD_SERVER=127.0.0.1:$LAB_ARGOCD_SERVER_PORT
export ARGOCD_OPTS=--plaintext
export ARGOCD_ADMIN_USERNAME=admin
export ARGOCD_ADMIN_PASSWORD=$(cat "$LAB_DIR/admin-password")
ENV
  # The internal ingress controller's address (lab/scripts/traefik.sh), where staging's
  # https://antaeus.staging.example.com is served: curl --resolve <host>:443:$LAB_INGRESS_IP.
  [ "$LAB_NODE" = 0 ] || echo "export LAB_INGRESS_IP=$LAB_INGRESS_IP" >>"$LAB_DIR/env"
  # What the on-call webhook's stand-in received from the Alertmanager: curl $LAB_ALERT_RECEIVER/received.
  [ "$LAB_NODE" = 0 ] || echo "export LAB_ALERT_RECEIVER=http://$LAB_NODE_IP:$LAB_ALERT_RECEIVER_PORT" >>"$LAB_DIR/env"
  [ "$LAB_NODE" = 0 ] || bash "$LAB_ROOT/lab/scripts/seed-services.sh" >>"$LAB_DIR/env"
}

# On a fresh start no lab port may be taken: a foreign listener would answer in a lab process's place.
require_free_ports() {
  [ -z "$(ls -A "$LAB_PIDS" 2>/dev/null)" ] || return 0
  local taken=() port
  for port in $(lab_ports); do port_open "$port" && taken+=("$port"); done
  [ ${#taken[@]} -eq 0 ] || lab_fail "ports the lab uses are taken by another program: ${taken[*]} (ss -ltnp shows which)"
}

# controller_or_crds <script> <with the node> <without>: lab/scripts/<script>.sh start (its
# controller, which needs the node) or, without the node, its crd step alone, so that Argo CD can
# still sync the kinds it defines.
controller_or_crds() {
  if [ "$LAB_NODE" = 1 ]; then
    step "$2" "$LAB_LOGS/$1.log" bash "$LAB_ROOT/lab/scripts/$1.sh" start
  else
    step "$3 (no node, no controller)" "$LAB_LOGS/$1.log" bash "$LAB_ROOT/lab/scripts/$1.sh" crd
  fi
}

build_delivery_tool() { (cd "$LAB_ROOT" && npm run build -w @internal/delivery); }

main() {
  require_host_tools
  require_free_ports
  mkdir -p "$LAB_LOGS" "$LAB_PIDS"
  step "build what is missing" "$LAB_LOGS/build.log" bash "$LAB_ROOT/lab/scripts/build.sh"
  step "pinned tools (kustomize for the repo server)" "$LAB_LOGS/tools.log" bash "$LAB_ROOT/scripts/install-tools.sh"
  # The lab's scripts ask the delivery tool for the catalogue's environments, teams and namespaces.
  step "the delivery tool (packages/delivery)" "$LAB_LOGS/build.log" build_delivery_tool
  local rolling release
  rolling="$(non_prod_environments | environment_list)"
  release="$(release_environment)"
  [ "$LAB_NODE" = 0 ] || bash "$LAB_ROOT/lab/scripts/node.sh" network
  lab_log "control plane ..."; start_control_plane; lab_log "control plane ready"
  lab_log "git server ..."; start_git_server; lab_log "git server ready at $LAB_GIT_URL"
  lab_log "Argo CD ..."; start_argocd; lab_log "Argo CD ready at http://127.0.0.1:$LAB_ARGOCD_SERVER_PORT"
  [ "$LAB_NODE" = 0 ] || bash "$LAB_ROOT/lab/scripts/node.sh" start
  [ "$LAB_NODE" = 0 ] || step "signature admission: policy-controller, the lab key, its ClusterImagePolicy" \
    "$LAB_LOGS/sigstore.log" bash "$LAB_ROOT/lab/scripts/sigstore.sh" start
  controller_or_crds sealed-secrets "Sealed Secrets: the controller and the lab cluster's certificate" \
    "Sealed Secrets: the SealedSecret CRD"
  # Before Argo CD's first sync, so the platform's issuers and certificates find their CRDs.
  controller_or_crds cert-manager "cert-manager: the controller (no webhook, no cainjector)" "cert-manager: the CRDs"
  # The cluster's monitoring stack, which scrapes and evaluates what the teams' bases ship
  # (ServiceMonitors, PrometheusRules) as Argo CD syncs them. Without the node nothing runs it: the
  # platform syncs the teams' two monitoring CRDs itself (platform-monitoring-crds).
  [ "$LAB_NODE" = 0 ] || step "monitoring: the Prometheus Operator and its Prometheus" "$LAB_LOGS/monitoring.log" \
    bash "$LAB_ROOT/lab/scripts/monitoring.sh" start
  # Before Argo CD's first sync: staging's and prod's Rollouts need the CRDs.
  controller_or_crds rollouts "Argo Rollouts: the controller that runs the canaries" "Argo Rollouts: the CRDs"
  [ "$LAB_NODE" = 0 ] || step "Traefik: the internal ingress controller" "$LAB_LOGS/traefik.log" \
    bash "$LAB_ROOT/lab/scripts/traefik.sh" start
  step "prepare the lab repository (adopt-fork, argocd-cm)" "$LAB_LOGS/bootstrap.log" prepare_lab_repository
  [ "$LAB_NODE" = 0 ] || step "every environment's Secrets sealed for the lab's controller" "$LAB_LOGS/sealed-secrets.log" \
    bash "$LAB_ROOT/lab/scripts/sealed-secrets.sh" seal
  [ "$LAB_NODE" = 0 ] ||
      step "images of the lab repository's commit: built, signed, bumped in the first environment by digest, promoted to the others" "$LAB_LOGS/bootstrap.log" release_lab_images
  run_readme_block bootstrap
  # shellcheck disable=SC2086 # one word per environment
  # shellcheck disable=SC2086 # one word per environment
  [ "$LAB_NODE" = 0 ] || step "signature admission in the $rolling namespaces" "$LAB_LOGS/sigstore.log" \
    enforce_signatures $rolling
  write_env
  step "every Application but $release's Synced" "$LAB_LOGS/wait.log" wait_for_sync
  if [ "$LAB_NODE" = 1 ]; then
    step "volumes for the claims" "$LAB_LOGS/wait.log" bind_pending_claims
    # shellcheck disable=SC2086 # one word per environment
    step "every $rolling Deployment Available" "$LAB_LOGS/wait.log" wait_for_workloads $rolling
    write_env
  fi
  run_readme_block first-release-sync
  if [ "$LAB_NODE" = 1 ]; then
    step "$release: a manual sync of each service's app" "$LAB_LOGS/release.log" sync_prod
    step "volumes for $release's claims" "$LAB_LOGS/release.log" bind_pending_claims
    step "every $release Deployment Available" "$LAB_LOGS/release.log" wait_for_workloads "$release"
    step "every Application Synced and Healthy" "$LAB_LOGS/wait.log" wait_for_health
  fi
  kubectl -n "$ARGOCD_NS" get applications
  lab_log "lab up: . $LAB_DIR/env   (UI: http://127.0.0.1:$LAB_ARGOCD_SERVER_PORT, user admin, password in .lab/env)"
}

[[ "${BASH_SOURCE[0]}" != "$0" ]] || main "$@"
