#!/usr/bin/env bash
# Creates the three Secrets one environment's services read, each only when it is missing: the
# payment token (accepted by payment, sent by Antaeus: the same value on both sides; payment's
# list names it antaeus:<token>, so Antaeus stays the same caller, with the same idempotency
# keys, across a rotation) and the token Antaeus's own callers present. Used by scripts/deploy.sh and the local lab; never committed.
#
#   scripts/create-secrets.sh [--dry-run] <environment of catalogue.yaml>
#
#   --dry-run   print the kubectl commands instead of running them (needs no cluster)
#
# Environment: KUBECTL (default kubectl).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib/delivery.sh
. "$ROOT/scripts/lib/delivery.sh"
USAGE="scripts/create-secrets.sh [--dry-run] <$(
  IFS='|'
  echo "${DELIVERY_ENVIRONMENTS[*]}"
)>"
dry_run=false
[ "${1:-}" != --dry-run ] || { dry_run=true && shift; }
[ "$#" -eq 1 ] || usage_error "expected 1 environment, got $#" "$USAGE"
env="$1"
is_environment "$env" || usage_error "unknown environment '$env' (known: ${DELIVERY_ENVIRONMENTS[*]})" "$USAGE"
kubectl="${KUBECTL:-kubectl}"
payments="payments-$env"
billing="billing-$env"

# ensure_secret <namespace> <name> <key> <value>: creates it unless it exists. The value reaches
# kubectl on stdin (--from-file=<key>=/dev/stdin, written by the printf builtin), never on a
# command line, where every user of the machine could read it in the process list.
ensure_secret() {
  if $dry_run; then
    printf '+ %q -n %q create secret generic %q %q\n' "$kubectl" "$1" "$2" "--from-file=$3=/dev/stdin"
  elif "$kubectl" -n "$1" get secret "$2" >/dev/null 2>&1; then
    echo "create-secrets: secret $1/$2 exists; keeping it"
  else
    printf '%s' "$4" |
      "$kubectl" -n "$1" create secret generic "$2" --from-file="$3=/dev/stdin" --dry-run=client -o yaml |
      "$kubectl" apply -f -
  fi
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
if ! $dry_run; then
  token="$(existing_token "$payments" payment-api-tokens tokens)"
  [ -n "$token" ] || token="$(new_token)"
  antaeus_token="$(existing_token "$billing" antaeus-api-tokens tokens)"
  [ -n "$antaeus_token" ] || antaeus_token="$(new_token)"
fi
ensure_secret "$payments" payment-api-tokens tokens "antaeus:$token"
ensure_secret "$billing" payment-api-token token "$token"
ensure_secret "$billing" antaeus-api-tokens tokens "$antaeus_token"
