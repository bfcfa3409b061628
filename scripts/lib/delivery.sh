# shellcheck shell=bash
# What the delivery scripts agree on: which services exist, which team owns each, the order of
# environments (all three read from catalogue.yaml), what a deployable image tag and digest look
# like, and where an overlay lives. Sourced by bump-image.sh, promote.sh and
# affected-services.sh; defines functions and the two lists below. Needs node_modules (npm ci).

DELIVERY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

die() {
  echo "error: $*" >&2
  exit 1
}

usage_error() {
  echo "error: $1" >&2
  echo "usage: $2" >&2
  exit 2
}

# Asks scripts/catalogue.mjs, which validates catalogue.yaml first (exit 3 when it is invalid).
catalogue() {
  node "$DELIVERY_ROOT/scripts/catalogue.mjs" "$@"
}

catalogue_list() {
  local output
  output="$(catalogue "$1")" || die "cannot read the $1 from catalogue.yaml"
  mapfile -t "$2" <<<"$output"
}

catalogue_list services DELIVERY_SERVICES
catalogue_list environments DELIVERY_ENVIRONMENTS

team_of() {
  catalogue team-of "$1" 2>/dev/null
}

is_environment() {
  local env
  for env in "${DELIVERY_ENVIRONMENTS[@]}"; do [ "$env" = "$1" ] && return 0; done
  return 1
}

# The environment a release moves to after $1; fails for the last one.
next_environment() {
  catalogue next-environment "$1" 2>/dev/null
}

# Tags are immutable references only: a git commit SHA (7 to 40 lowercase hex digits, what the
# release workflow pushes) or a semantic version such as 1.4.2, v1.4.2 or 1.5.0-rc.1. Moving
# names like "latest" are refused because a GitOps diff must say exactly what runs.
is_valid_tag() {
  [[ "$1" =~ ^[0-9a-f]{7,40}$ ]] || [[ "$1" =~ ^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z][0-9A-Za-z.-]*)?$ ]]
}

# An image digest as registries report it (docker/build-push-action's `digest` output).
is_valid_digest() {
  [[ "$1" =~ ^sha256:[0-9a-f]{64}$ ]]
}

overlay_file() {
  echo "deploy/teams/$(team_of "$1")/$1/overlays/$2/kustomization.yaml"
}

require_service() {
  team_of "$1" >/dev/null ||
    usage_error "unknown service '$1' (known: ${DELIVERY_SERVICES[*]})" "$2"
}

require_environment() {
  is_environment "$1" ||
    usage_error "unknown environment '$1' (known: ${DELIVERY_ENVIRONMENTS[*]})" "$2"
}

require_tag() {
  is_valid_tag "$1" ||
    usage_error "invalid image tag '$1': use a git commit SHA (7-40 lowercase hex) or a version like 1.2.3 / v1.2.3-rc.1" "$2"
}

require_digest() {
  is_valid_digest "$1" ||
    usage_error "invalid digest '$1': expected sha256:<64 lowercase hex>, as the registry reports it" "$2"
}

# Prints the newTag of <service>'s images entry in an overlay file (path relative to the root).
overlay_tag() {
  node "$DELIVERY_ROOT/scripts/lib/overlay-image.mjs" get "$DELIVERY_ROOT/$1" "$2"
}

# Prints the digest of that entry, or nothing when it is pinned by tag only.
overlay_digest() {
  node "$DELIVERY_ROOT/scripts/lib/overlay-image.mjs" digest "$DELIVERY_ROOT/$1" "$2"
}

# Prints <tag> or <tag>@<digest>, as the overlay pins it, for messages.
overlay_image() {
  local digest
  digest="$(overlay_digest "$1" "$2")"
  echo "$(overlay_tag "$1" "$2")${digest:+@$digest}"
}

# Sets that newTag and, when a fourth argument is given, its digest; without one (or with an
# empty one) removes the entry's digest line. Prints "changed" or "unchanged".
set_overlay_image() {
  node "$DELIVERY_ROOT/scripts/lib/overlay-image.mjs" set "$DELIVERY_ROOT/$1" "$2" "$3" "${4:-}"
}
