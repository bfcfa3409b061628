#!/usr/bin/env bash
# `npm run lab:release -- <service>`: on the running lab, what .github/workflows/release.yml does
# on a merge to main. It builds <service>'s image from the lab repository's current commit, tags it
# with that commit and pushes it to the lab's registry, then sets the dev overlay to that tag and
# the pushed digest and pushes the bump to the git server Argo CD watches. Argo CD then rolls dev.
#
#   npm run lab:release -- payment
#   (commit in "$LAB_REPO" first: a release is of a commit, never of a working tree)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LAB_REPO="$LAB_DIR/repo"
usage="usage: npm run lab:release -- <service>"
[ "$#" -eq 1 ] || { echo "lab:release: expected 1 service, got $#" >&2; echo "$usage" >&2; exit 2; }
service="$1"
services="$(node "$LAB_ROOT/scripts/catalogue.mjs" services)"
grep -qx -- "$service" <<<"$services" || {
  echo "lab:release: unknown service '$service' (catalogue.yaml has: $(tr '\n' ' ' <<<"$services"))" >&2
  echo "$usage" >&2
  exit 2
}
[ -f "$LAB_DIR/env" ] && [ -d "$LAB_REPO/.git" ] || lab_fail "no lab is running here: npm run lab:up first"
[ -z "$(git -C "$LAB_REPO" status --porcelain)" ] ||
  lab_fail "$LAB_REPO has uncommitted changes: commit them first (a release is of a commit)"

bash "$LAB_ROOT/scripts/lab/images.sh" --checkout "$LAB_REPO" "$service"
# shellcheck disable=SC1091 # written by images.sh
. "$LAB_DIR/images.env"
image_var="LAB_IMAGE_$(tr '[:lower:]-' '[:upper:]_' <<<"$service")"
image="${!image_var}"
repo_digest="$("$LAB_DOCKER" inspect --format '{{index .RepoDigests 0}}' "$image")"
sha="${image##*:}"
cd "$LAB_REPO"
# As release.yml: the digest is required, and a late run never moves dev back to an older commit.
BUMP_REQUIRE_DIGEST=true scripts/bump-image.sh --push --if-newer --digest "${repo_digest#*@}" "$service" dev "$sha"
lab_log "released $service $sha (${repo_digest#*@}) to dev; Argo CD syncs $service-dev"
