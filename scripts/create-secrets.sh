#!/usr/bin/env bash
# Creates the four Secrets one environment's services read, each only when it is missing: the
# payment token (accepted by payment, sent by Antaeus: the same value on both sides; payment's
# list names it antaeus:<token>, so Antaeus stays the same caller, with the same idempotency
# keys, across a rotation), the token Antaeus's own callers present, and the password of
# payment's Redis (required by Redis, sent by payment). Each service's Secret also holds a token
# of Prometheus's under metrics-token: the service accepts it on /metrics only
# (<SERVICE>_METRICS_TOKENS) and its ServiceMonitor sends it. Used by `delivery deploy`
# (packages/delivery) and the local lab; never committed.
#
#   scripts/create-secrets.sh [--dry-run] <environment of catalogue.yaml>
#
#   --dry-run   print the kubectl commands instead of running them (needs no cluster)
#
# Environment: KUBECTL (default kubectl).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage_error() {
  echo "error: $1" >&2
  echo "usage: $USAGE" >&2
  exit 2
}
# The environments of catalogue.yaml, from the delivery tool (npm run build).
mapfile -t environments < <(node "$ROOT/packages/delivery/bin/delivery.js" catalogue environments)
[ "${#environments[@]}" -gt 0 ] || { echo "error: cannot read the environments of catalogue.yaml" >&2 && exit 1; }
USAGE="scripts/create-secrets.sh [--dry-run] <$(
  IFS='|'
  echo "${environments[*]}"
)>"
dry_run=false
[ "${1:-}" != --dry-run ] || { dry_run=true && shift; }
[ "$#" -eq 1 ] || usage_error "expected 1 environment, got $#"
env="$1"
[[ " ${environments[*]} " == *" $env "* ]] || usage_error "unknown environment '$env' (known: ${environments[*]})"
kubectl="${KUBECTL:-kubectl}"
payments="payments-$env"
billing="billing-$env"

# ensure_secret <namespace> <name> <key> <value> [<key> <value>...]: creates it unless it exists.
# Each value reaches kubectl through a pipe of its own (--from-file=<key>=/dev/fd/<n>, written
# by the printf builtin), never on a command line, where every user of the machine could read it
# in the process list.
ensure_secret() {
  local namespace="$1" name="$2" fd args=() fds=()
  shift 2
  if ! $dry_run && "$kubectl" -n "$namespace" get secret "$name" >/dev/null 2>&1; then
    echo "create-secrets: secret $namespace/$name exists; keeping it"
    # A Secret from before a key was added (metrics-token) is kept too: say what it lacks.
    while [ "$#" -gt 0 ]; do
      "$kubectl" -n "$namespace" get secret "$name" -o "jsonpath={.data.$1}" | grep -q . ||
        echo "create-secrets: warning: $namespace/$name has no key $1; add it (docs/operations.md#secrets)" >&2
      shift 2
    done
    return 0
  fi
  while [ "$#" -gt 0 ]; do
    exec {fd}< <(printf '%s' "$2")
    fds+=("$fd")
    args+=("--from-file=$1=/dev/fd/$fd")
    shift 2
  done
  if $dry_run; then
    printf '+ %q -n %q create secret generic %q' "$kubectl" "$namespace" "$name"
    printf ' %q' "${args[@]}"
    printf '\n'
  else
    "$kubectl" -n "$namespace" create secret generic "$name" "${args[@]}" --dry-run=client -o yaml |
      "$kubectl" apply -f -
  fi
  for fd in "${fds[@]}"; do exec {fd}<&-; done
}
# existing_token <namespace> <secret> <key>: the first token a Secret holds, if it exists,
# without the caller name of a <name>:<token> entry.
existing_token() {
  "$kubectl" -n "$1" get secret "$2" -o jsonpath="{.data.$3}" 2>/dev/null | base64 -d |
    cut -d, -f1 | sed -E 's/^[a-z][a-z0-9-]{0,39}://' || true
}
new_token() {
  od -An -tx1 -N32 /dev/urandom | tr -d ' \n'
}
# Reused when payment's Secret exists, so a second run never splits the two sides.
token=""
antaeus_token=""
payment_metrics_token=""
antaeus_metrics_token=""
redis_password=""
if ! $dry_run; then
  token="$(existing_token "$payments" payment-api-tokens tokens)"
  [ -n "$token" ] || token="$(new_token)"
  antaeus_token="$(existing_token "$billing" antaeus-api-tokens tokens)"
  [ -n "$antaeus_token" ] || antaeus_token="$(new_token)"
  payment_metrics_token="$(new_token)"
  antaeus_metrics_token="$(new_token)"
  # Read by Redis and by payment from the same Secret, so one value can never split them.
  redis_password="$(new_token)"
fi
ensure_secret "$payments" payment-api-tokens \
  tokens "antaeus:$token" metrics-token "$payment_metrics_token"
ensure_secret "$billing" payment-api-token token "$token"
ensure_secret "$billing" antaeus-api-tokens \
  tokens "$antaeus_token" metrics-token "$antaeus_metrics_token"
ensure_secret "$payments" payment-redis password "$redis_password"
