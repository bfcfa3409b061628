#!/usr/bin/env bash
# The reviewer's check against any running Antaeus: health, customers, invoices, one pay call,
# and the PAID/PENDING distribution before and after it. Exits non-zero when anything is off.
#
#   scripts/smoke.sh <antaeus-base-url>        e.g. scripts/smoke.sh http://localhost:30080
#
# Environment: SMOKE_TIMEOUT_SECONDS bounds each request (default 120; a pay call charges every
# pending invoice before it answers). ANTAEUS_TOKEN: a bearer token from ANTAEUS_API_TOKENS,
# needed by a deployed Antaeus for the pay call (passed to curl through a file descriptor, never
# on its command line). Needs curl and jq.
set -euo pipefail

USAGE="usage: scripts/smoke.sh <antaeus-base-url>   (e.g. http://localhost:30080)"
fail() {
  echo "smoke: FAIL: $*" >&2
  exit 1
}
usage_error() {
  echo "smoke: $1" >&2
  echo "$USAGE" >&2
  exit 2
}

[ "$#" -eq 1 ] || usage_error "expected 1 argument, got $#"
[[ "$1" =~ ^https?://[^/[:space:]]+(/[^[:space:]]*)?$ ]] ||
  usage_error "'$1' is not an http:// or https:// URL"
base="${1%/}"
timeout="${SMOKE_TIMEOUT_SECONDS:-120}"
[[ "$timeout" =~ ^[1-9][0-9]*$ ]] || usage_error "SMOKE_TIMEOUT_SECONDS must be a positive integer, got '$timeout'"
for command in curl jq; do
  command -v "$command" >/dev/null 2>&1 || fail "$command is required (Debian/Ubuntu: apt-get install $command)"
done

# auth_headers: the Authorization header line when ANTAEUS_TOKEN is set, for curl's -H @file.
auth_headers() {
  [ -z "${ANTAEUS_TOKEN:-}" ] || printf 'Authorization: Bearer %s\n' "$ANTAEUS_TOKEN"
}

# call <method> <path>: prints the body of a 200 answer, fails on anything else.
call() {
  local response status body
  response="$(curl -sS --max-time "$timeout" -X "$1" -H 'Accept: application/json' \
    -H @<(auth_headers) -w '\n%{http_code}' "$base$2")" ||
    fail "$1 $base$2: no answer"
  status="${response##*$'\n'}"
  body="${response%$'\n'*}"
  [ "$status" != 401 ] ||
    fail "$1 $base$2 answered HTTP 401: set ANTAEUS_TOKEN to one of Antaeus's ANTAEUS_API_TOKENS ($body)"
  [ "$status" = 200 ] || fail "$1 $base$2 answered HTTP $status: $body"
  printf '%s' "$body"
}

# distribution <invoices-json>: prints "<paid> <pending> <total>", failing on any other status.
distribution() {
  jq -er '
    if type != "array" then error("the invoice list is not a JSON array") else . end
    | ((map(.status) | unique) - ["PAID", "PENDING"]) as $other
    | if ($other | length) > 0 then error("unexpected statuses: \($other | join(", "))") else . end
    | "\(map(select(.status == "PAID")) | length) \(map(select(.status == "PENDING")) | length) \(length)"
  ' <<<"$1" || fail "GET /rest/v1/invoices returned something other than a list of PAID/PENDING invoices"
}

health="$(call GET /rest/health)"
[ "$(jq -r . <<<"$health" 2>/dev/null)" = ok ] || fail "GET /rest/health answered $health, expected \"ok\""
echo "health: ok"

customers="$(jq -er 'if type == "array" and length > 0 then length else error("no customers") end' \
  <<<"$(call GET /rest/v1/customers)")" || fail "GET /rest/v1/customers returned no customers"
echo "customers: $customers"

read -r paid_before pending_before total_before <<<"$(distribution "$(call GET /rest/v1/invoices)")"
[ "$total_before" -gt 0 ] || fail "there are no invoices to bill"
echo "before: PAID $paid_before, PENDING $pending_before of $total_before invoices"

pay_result="$(call POST /rest/v1/invoices/pay)"
[[ "$pay_result" =~ ^(true|false)$ ]] || fail "POST /rest/v1/invoices/pay answered $pay_result, expected true or false"
echo "pay: $pay_result"

read -r paid_after pending_after total_after <<<"$(distribution "$(call GET /rest/v1/invoices)")"
echo "after: PAID $paid_after, PENDING $pending_after of $total_after invoices"

[ "$total_after" -eq "$total_before" ] || fail "the pay call changed the number of invoices ($total_before -> $total_after)"
[ "$paid_after" -ge "$paid_before" ] || fail "invoices went from PAID back to PENDING ($paid_before -> $paid_after paid)"
if [ "$pay_result" = true ] && [ "$pending_after" -ne 0 ]; then
  fail "pay answered true, but $pending_after invoices are still PENDING"
fi
if [ "$pay_result" = false ] && [ "$pending_after" -eq 0 ]; then
  fail "pay answered false, but no invoice is PENDING"
fi
# At the default 50% approval rate, all of N pending charges are declined with probability 0.5^N
# (1 in 256 for the default 8): treated as a broken payment path, not bad luck.
if [ "$pending_before" -gt 0 ] && [ "$paid_after" -eq "$paid_before" ]; then
  fail "none of the $pending_before pending invoices got paid: is the payment service reachable and approving?"
fi
echo "smoke: OK: $((paid_after - paid_before)) of $pending_before pending invoices paid ($paid_after of $total_after PAID)"
