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
[ -f "$LAB_DIR/env" ] && [ -d "$LAB_REPO/.git" ] || lab_fail "no lab is running here: npm run lab:up first"
repo_delivery() { (cd "$LAB_REPO" && delivery "$@"); }
# The lab repository's catalogue: a service added there (npm run new-service) is released too.
services="$(repo_delivery catalogue services)"
grep -qx -- "$service" <<<"$services" || {
  echo "lab:release: unknown service '$service' (catalogue.yaml has: $(tr '\n' ' ' <<<"$services"))" >&2
  echo "$usage" >&2
  exit 2
}
[ -z "$(git -C "$LAB_REPO" status --porcelain)" ] ||
  lab_fail "$LAB_REPO has uncommitted changes: commit them first (a release is of a commit)"

bash "$LAB_ROOT/lab/scripts/images.sh" --checkout "$LAB_REPO" "$service"
# shellcheck disable=SC1091 # written by images.sh
. "$LAB_DIR/images.env"
image_var="LAB_IMAGE_$(tr '[:lower:]-' '[:upper:]_' <<<"$service")"
image="${!image_var}"
repo_digest="$("$LAB_DOCKER" inspect --format '{{index .RepoDigests 0}}' "$image")"
sha="${image##*:}"
cd "$LAB_REPO"
first_env="$(repo_delivery catalogue environments | head -n 1)"
# A service born in the lab repository still names the GitHub registry: the lab's registry, as
# lab:up set it for the others.
team="$(repo_delivery catalogue team-of "$service")"
ghcr="ghcr.io/$(. scripts/repository.env && tr '[:upper:]' '[:lower:]' <<<"$GITHUB_REPOSITORY")/"
if grep -rqF -e "$ghcr" "deploy/teams/$team/$service"; then
  grep -rlF -e "$ghcr" "deploy/teams/$team/$service" | xargs sed -i "s#${ghcr//./\\.}#${LAB_REGISTRY}/#g"
  git commit -qam "lab: $service's images from the lab registry"
fi
# As release.yml: the digest is required, and a late run never moves dev back to an older commit.
BUMP_REQUIRE_DIGEST=true delivery bump --push --if-newer --digest "${repo_digest#*@}" "$service" "$first_env" "$sha"
lab_log "released $service $sha (${repo_digest#*@}) to $first_env; Argo CD syncs $service-$first_env"
