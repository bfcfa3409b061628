#!/usr/bin/env bash
# Sets one service's image in one environment's overlay: the newTag line (and the digest line)
# of its images: entry in deploy/teams/<team>/<service>/overlays/<env>/kustomization.yaml,
# nothing else. Idempotent: bumping to the image already there changes nothing and succeeds.
#
#   scripts/bump-image.sh [--commit | --push] [--if-newer] [--digest sha256:<hex>] <service> <env> <tag>
#
#   --commit   commit that one file (when it changed) as "deploy(<env>): <service> <tag>"
#   --push     commit, then push to BUMP_REMOTE (origin) with rebase retries
#   --digest   the pushed image's digest: written to the entry's digest line next to newTag, so
#              the rendered image is <name>:<tag>@<digest> and runs exactly what was built (the
#              tag stays for readers), and recorded in the commit message. Must match
#              ^sha256:[0-9a-f]{64}$; an empty or malformed value is refused, changing nothing.
#   --if-newer leave the overlay alone when its tag is a commit that already contains <tag>,
#              so a release run that finishes late never rolls dev back to an older build
#
# Without --digest the image is pinned by tag only and any digest line in the entry is removed
# (a stale digest would keep the old image running). That is for local clusters, kind and the
# lab, whose images were never pushed to a registry and so have no registry digest. The release
# workflow sets BUMP_REQUIRE_DIGEST=true, which makes a missing --digest an error instead.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/delivery.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/delivery.sh"

USAGE="scripts/bump-image.sh [--commit | --push] [--if-newer] [--digest sha256:<hex>] <service> <dev|staging|prod> <tag>"
commit=false
push=false
digest=""
has_digest=false
if_newer=false
while [ $# -gt 0 ]; do
  case "$1" in
    --commit) commit=true ;;
    --push) commit=true push=true ;;
    --if-newer) if_newer=true ;;
    --digest)
      [ $# -ge 2 ] || usage_error "--digest needs a value" "$USAGE"
      digest="$2" has_digest=true
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
if $has_digest; then
  require_digest "$digest" "$USAGE"
elif [ "${BUMP_REQUIRE_DIGEST:-}" = true ]; then
  usage_error "BUMP_REQUIRE_DIGEST=true: pass the pushed image's --digest sha256:<hex>" "$USAGE"
fi

file="$(overlay_file "$service" "$env")"
previous="$(overlay_tag "$file" "$service")"
previous_image="$(overlay_image "$file" "$service")"

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
image="$tag${digest:+@$digest}"
result="$(set_overlay_image "$file" "$service" "$tag" "$digest")"
if [ "$result" = changed ]; then
  echo "$service $env: $previous_image -> $image ($file)"
else
  echo "$service $env: already at $image"
fi

if $commit; then
  cd "$DELIVERY_ROOT"
  if git diff --quiet HEAD -- "$file"; then
    echo "nothing to commit for $file"
  else
    message="deploy($env): $service $tag"$'\n\n'"Previous image: $previous_image"
    [ -n "$digest" ] && message+=$'\n'"Image-Digest: $digest"
    git commit --quiet --message "$message" -- "$file"
    echo "committed $(git rev-parse --short HEAD): deploy($env): $service $tag"
  fi
fi
if $push; then
  "$DELIVERY_ROOT/scripts/lib/push-with-retry.sh"
fi
