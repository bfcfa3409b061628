#!/usr/bin/env bash
# Copies the image a service runs in one environment to the next one (dev -> staging -> prod):
# the newTag and the digest of its images: entry, changing only those lines of the target
# overlay, so the next environment runs the very image that was tested. A source pinned by tag
# only (a local bump) is refused: a tag can be pushed again, so only the digest says which image
# was tested, and the target is left untouched. The promotion workflow turns the change into a pull request that the owning team approves
# (CODEOWNERS). Idempotent.
#
#   scripts/promote.sh <service> <from> <to>
# When GITHUB_OUTPUT is set it also writes tag=, digest=, previous=, previous_digest= and
# file= for the workflow.
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
digest="$(overlay_digest "$source_file" "$service")"
[ -n "$digest" ] ||
  die "$source_file pins $service in $from by tag only ($tag, no digest): refusing to promote it to $to." \
    "Release it first (.github/workflows/release.yml), or bump $from with the pushed image's digest:" \
    "scripts/bump-image.sh --digest sha256:<digest> $service $from $tag"
is_valid_digest "$digest" ||
  die "$source_file holds digest '$digest' for $service, which is not sha256:<64 lowercase hex>"
previous="$(overlay_tag "$target_file" "$service")"
previous_digest="$(overlay_digest "$target_file" "$service")"
previous_image="$previous${previous_digest:+@$previous_digest}"
image="$tag@$digest"

if [ "$(set_overlay_image "$target_file" "$service" "$tag" "$digest")" = changed ]; then
  echo "$service $to: $previous_image -> $image (from $from, $target_file)"
else
  echo "$service $to: already at $image"
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  printf 'tag=%s\ndigest=%s\nprevious=%s\nprevious_digest=%s\nfile=%s\n' \
    "$tag" "$digest" "$previous" "$previous_digest" "$target_file" >>"$GITHUB_OUTPUT"
fi
