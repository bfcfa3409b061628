#!/usr/bin/env bash
# Lists the services whose container image must be rebuilt for the commits base..head: those
# Turborepo reports as affected (their own files, or a workspace package they build from, or a
# root file every package depends on) plus all of them when .dockerignore changed. A service
# is a workspace under services/ with a Dockerfile. Changes only under deploy/ select none.
# Without a usable base (first push, force push) every service is selected.
#
#   scripts/affected-services.sh [--json] <base> [<head>]     (head defaults to HEAD)
set -euo pipefail
shopt -s inherit_errexit
# shellcheck source-path=SCRIPTDIR source=lib/delivery.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/delivery.sh"

USAGE="scripts/affected-services.sh [--json] <base> [<head>]"
json=false
if [ "${1:-}" = --json ]; then
  json=true
  shift
fi
[ $# -ge 1 ] && [ $# -le 2 ] || usage_error "expected a base commit and an optional head" "$USAGE"
base="$1" head="${2:-HEAD}"
cd "$DELIVERY_ROOT"
git rev-parse --verify --quiet "$head^{commit}" >/dev/null || die "head '$head' is not a commit here"

services_with_images() {
  local dir
  for dir in services/*/; do
    if [ -f "$dir/Dockerfile" ]; then basename "$dir"; fi
  done
}

select_affected() {
  if [[ "$base" =~ ^0+$ ]] || ! git rev-parse --verify --quiet "$base^{commit}" >/dev/null; then
    echo "base '$base' is not a known commit: selecting every service" >&2
    services_with_images
    return
  fi
  if git diff --name-only "$base" "$head" | grep -qx '.dockerignore'; then
    services_with_images
    return
  fi
  local turbo="$DELIVERY_ROOT/node_modules/.bin/turbo"
  [ -x "$turbo" ] || die "turbo is not installed: run npm ci first"
  TURBO_TELEMETRY_DISABLED=1 TURBO_SCM_BASE="$base" TURBO_SCM_HEAD="$head" \
    "$turbo" ls --affected --output=json 2>/dev/null |
    node -e '
      let text = "";
      process.stdin.on("data", (chunk) => (text += chunk)).on("end", () => {
        for (const item of JSON.parse(text).packages.items) console.log(item.path);
      });' |
    while read -r path; do
      if [[ "$path" == services/* ]] && [ -f "$path/Dockerfile" ]; then basename "$path"; fi
    done
}

affected="$(select_affected)"
mapfile -t selected < <(sort -u <<<"$affected" | grep -v '^$' || true)
if $json; then
  node -e 'console.log(JSON.stringify(process.argv.slice(1)))' "${selected[@]}"
elif [ ${#selected[@]} -gt 0 ]; then
  printf '%s\n' "${selected[@]}"
fi
