#!/usr/bin/env bash
# Deploys one whole environment without Argo CD: the platform layer, the Secrets (generated when
# missing), every service of catalogue.yaml, then waits for the rollouts and prints how to reach
# Antaeus.
#
#   scripts/deploy.sh [--dry-run] <environment of catalogue.yaml>
#
#   --dry-run   render the environment with the pinned kustomize and print the kubectl commands
#               instead of running them (needs no cluster)
#
# Environment: KUBECTL (default kubectl), ROLLOUT_TIMEOUT (default 180s).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The environments and services, from catalogue.yaml.
# shellcheck source-path=SCRIPTDIR source=lib/delivery.sh
. "$ROOT/scripts/lib/delivery.sh"
USAGE="usage: scripts/deploy.sh [--dry-run] <$(
  IFS='|'
  echo "${DELIVERY_ENVIRONMENTS[*]}"
)>"
usage_error() {
  echo "deploy: $1" >&2
  echo "$USAGE" >&2
  exit 2
}

dry_run=false
while [ "$#" -gt 0 ]; do
  case "$1" in
    --dry-run) dry_run=true ;;
    -h | --help)
      echo "$USAGE"
      exit 0
      ;;
    -*) usage_error "unknown option '$1'" ;;
    *) break ;;
  esac
  shift
done
[ "$#" -eq 1 ] || usage_error "expected 1 environment, got $#"
env="$1"
is_environment "$env" || usage_error "unknown environment '$env' (known: ${DELIVERY_ENVIRONMENTS[*]})"

kubectl="${KUBECTL:-kubectl}"
rollout_timeout="${ROLLOUT_TIMEOUT:-180s}"
payments="payments-$env"
billing="billing-$env"

# run <command...>: runs it, or prints it in a dry run.
run() {
  if $dry_run; then
    printf '+'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}

if $dry_run; then
  kustomize="${TOOLS_DIR:-$ROOT/.tools}/bin/kustomize"
  [ -x "$kustomize" ] || {
    echo "deploy: $kustomize is missing: run scripts/install-tools.sh" >&2
    exit 1
  }
  count="$("$kustomize" build "$ROOT/deploy/envs/$env" | grep -c '^kind:')"
  echo "deploy: dry run: deploy/envs/$env renders $count objects"
else
  command -v "$kubectl" >/dev/null 2>&1 || {
    echo "deploy: $kubectl not found: install kubectl and point it at the cluster (kubectl config use-context ...)" >&2
    exit 1
  }
fi

# Namespaces, quotas, network policies and RBAC first: the Secrets need the namespaces.
run "$kubectl" apply -k "$ROOT/deploy/platform/$env"

# The Secrets the services read, generated when missing (scripts/create-secrets.sh).
if $dry_run; then
  KUBECTL="$kubectl" "$ROOT/scripts/create-secrets.sh" --dry-run "$env"
else
  KUBECTL="$kubectl" "$ROOT/scripts/create-secrets.sh" "$env"
fi

run "$kubectl" apply -k "$ROOT/deploy/envs/$env"
run "$kubectl" -n "$payments" rollout status statefulset/payment-redis --timeout "$rollout_timeout"
for service in "${DELIVERY_SERVICES[@]}"; do
  run "$kubectl" -n "$(catalogue namespace "$(team_of "$service")" "$env")" \
    rollout status "deployment/$service" --timeout "$rollout_timeout"
done

echo
if [ "$env" = dev ]; then
  cat <<EOF
Antaeus is on NodePort 30080 of every node:
  curl http://<node-ip>:30080/rest/health
  (kind: create the cluster with deploy/kind-cluster.yaml, then use http://localhost:30080)
Or, from any machine with kubectl:
  $kubectl -n $billing port-forward service/antaeus 8000:8000 &
Antaeus's mutating endpoints need a token of the Secret $billing/antaeus-api-tokens:
  export ANTAEUS_TOKEN="\$($kubectl -n $billing get secret antaeus-api-tokens -o jsonpath='{.data.tokens}' | base64 -d | cut -d, -f1)"
  scripts/smoke.sh http://localhost:8000
EOF
else
  host='<ingress host>'
  $dry_run || host="$("$kubectl" -n "$billing" get ingress antaeus -o jsonpath='{.spec.rules[0].host}')"
  cat <<EOF
Antaeus is behind the Ingress at https://$host (point DNS at the ingress controller).
Without DNS:
  $kubectl -n $billing port-forward service/antaeus 8000:8000 &
Antaeus's mutating endpoints need a token of the Secret $billing/antaeus-api-tokens:
  export ANTAEUS_TOKEN="\$($kubectl -n $billing get secret antaeus-api-tokens -o jsonpath='{.data.tokens}' | base64 -d | cut -d, -f1)"
  scripts/smoke.sh http://localhost:8000
EOF
fi
