#!/usr/bin/env bash
# Sets one service's image tag in one environment's overlay: the newTag line of its images:
# entry in deploy/teams/<team>/<service>/overlays/<env>/kustomization.yaml, nothing else.
# Idempotent: bumping to the tag already there changes nothing and succeeds.
#
#   scripts/bump-image.sh [--commit | --push] [--if-newer] [--digest sha256:<hex>] <service> <env> <tag>
#
#   --commit   commit that one file (when it changed) as "deploy(<env>): <service> <tag>"
#   --push     commit, then push to BUMP_REMOTE (origin) with rebase retries
#   --digest   the pushed image's digest, recorded in the commit message
#   --if-newer leave the overlay alone when its tag is a commit that already contains <tag>,
#              so a release run that finishes late never rolls dev back to an older build
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/delivery.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/delivery.sh"

USAGE="scripts/bump-image.sh [--commit | --push] [--if-newer] [--digest sha256:<hex>] <service> <dev|staging|prod> <tag>"
commit=false
push=false
digest=""
if_newer=false
while [ $# -gt 0 ]; do
  case "$1" in
    --commit) commit=true ;;
    --push) commit=true push=true ;;
    --if-newer) if_newer=true ;;
    --digest)
      [ $# -ge 2 ] || usage_error "--digest needs a value" "$USAGE"
      digest="$2"
      shift
      ;;
    -h | --help)
      echo "usage: $USAGE"
      exit 0
      ;;
    -*) usage_error "unknown option '$1'" "$USAGE" ;;
    *) break ;;
  esac
  shift
done
[ $# -eq 3 ] || usage_error "expected 3 arguments, got $#" "$USAGE"
service="$1" env="$2" tag="$3"
require_service "$service" "$USAGE"
require_environment "$env" "$USAGE"
require_tag "$tag" "$USAGE"
if [ -n "$digest" ] && ! [[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]]; then
  usage_error "invalid digest '$digest': expected sha256:<64 lowercase hex>" "$USAGE"
fi

file="$(overlay_file "$service" "$env")"
previous="$(overlay_tag "$file" "$service")"

# True when both tags name commits here and the overlay's is a strict descendant of the new one.
overlay_is_newer() {
  [ "$previous" != "$tag" ] &&
    git -C "$DELIVERY_ROOT" cat-file -e "$previous^{commit}" 2>/dev/null &&
    git -C "$DELIVERY_ROOT" cat-file -e "$tag^{commit}" 2>/dev/null &&
    git -C "$DELIVERY_ROOT" merge-base --is-ancestor "$tag" "$previous"
}
if $if_newer && overlay_is_newer; then
  echo "$service $env: keeping $previous, which is newer than $tag"
  exit 0
fi
result="$(set_overlay_tag "$file" "$service" "$tag")"
if [ "$result" = changed ]; then
  echo "$service $env: $previous -> $tag ($file)"
else
  echo "$service $env: already at $tag"
fi

if $commit; then
  cd "$DELIVERY_ROOT"
  if git diff --quiet HEAD -- "$file"; then
    echo "nothing to commit for $file"
  else
    message="deploy($env): $service $tag"$'\n\n'"Previous tag: $previous"
    [ -n "$digest" ] && message+=$'\n'"Image-Digest: $digest"
    git commit --quiet --message "$message" -- "$file"
    echo "committed $(git rev-parse --short HEAD): deploy($env): $service $tag"
  fi
fi
if $push; then
  "$DELIVERY_ROOT/scripts/lib/push-with-retry.sh"
fi
