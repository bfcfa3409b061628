#!/usr/bin/env bash
# Copies the image tag a service runs in one environment to the next one (dev -> staging ->
# prod), changing only the newTag line of the target overlay. The promotion workflow turns the
# change into a pull request that the owning team approves (CODEOWNERS). Idempotent.
#
#   scripts/promote.sh <service> <from> <to>
# When GITHUB_OUTPUT is set it also writes tag=, previous= and file= for the workflow.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/delivery.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/delivery.sh"

USAGE="scripts/promote.sh <service> <from: dev|staging> <to: staging|prod>"
[ $# -eq 3 ] || usage_error "expected 3 arguments, got $#" "$USAGE"
service="$1" from="$2" to="$3"
require_service "$service" "$USAGE"
require_environment "$from" "$USAGE"
require_environment "$to" "$USAGE"
expected="$(next_environment "$from")" || usage_error "$from is the last environment: nothing to promote to" "$USAGE"
[ "$to" = "$expected" ] ||
  usage_error "promotion goes one environment at a time: $from promotes to $expected, not $to" "$USAGE"

source_file="$(overlay_file "$service" "$from")"
target_file="$(overlay_file "$service" "$to")"
tag="$(overlay_tag "$source_file" "$service")"
is_valid_tag "$tag" || die "$source_file holds '$tag' for $service, which is not a deployable tag; bump $from first"
previous="$(overlay_tag "$target_file" "$service")"

if [ "$(set_overlay_tag "$target_file" "$service" "$tag")" = changed ]; then
  echo "$service $to: $previous -> $tag (from $from, $target_file)"
else
  echo "$service $to: already at $tag"
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  printf 'tag=%s\nprevious=%s\nfile=%s\n' "$tag" "$previous" "$target_file" >>"$GITHUB_OUTPUT"
fi
