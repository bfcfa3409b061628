#!/usr/bin/env bash
# Points this repository at a fork: records <owner>/<name> in scripts/repository.env, rewrites
# every Argo CD repoURL under argocd/, and every image name and release-workflow signing identity
# (deploy/platform/admission) under deploy/ to match, and changes nothing at all when an argument
# is invalid.
#
#   scripts/adopt-fork.sh my-org/payments-gitops
#   scripts/adopt-fork.sh my-org/payments-gitops --repo-url git://127.0.0.1:19418/payments-gitops.git
#
# --repo-url is for a git server that is not GitHub (a mirror, the local lab's git daemon): Argo CD
# clones that URL, recorded as REPOSITORY_URL; without it the URL is https://github.com/<owner>/<name>.git.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENV_FILE="$ROOT/scripts/repository.env"

fail() {
  echo "adopt-fork.sh: $*" >&2
  exit 2
}

owner_pattern='^[A-Za-z0-9]([A-Za-z0-9-]{0,37}[A-Za-z0-9])?$'
name_pattern='^[A-Za-z0-9._-]{1,100}$'

# Why a value is not a GitHub <owner>/<name>; empty when it is one.
invalid_reason() {
  local value="$1" owner name
  [[ "$value" == */* ]] || { echo "\"$value\" is not <owner>/<name>"; return; }
  owner="${value%%/*}"
  name="${value#*/}"
  [[ "$owner" =~ $owner_pattern ]] ||
    { echo "owner \"$owner\" must be 1-39 letters, digits or inner hyphens"; return; }
  [[ "$name" =~ $name_pattern ]] ||
    { echo "name \"$name\" must be 1-100 letters, digits, '.', '_' or '-'"; return; }
  [[ "$name" != "." && "$name" != ".." ]] || { echo "name \"$name\" is reserved"; return; }
  [[ "$name" != *.git ]] || { echo "give the name without .git: \"${name%.git}\""; return; }
}

usage="usage: $0 <owner>/<name> [--repo-url <git URL>]"
positional=() new_repo_url=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    --repo-url)
      [ "$#" -ge 2 ] || fail "--repo-url needs a value; $usage"
      new_repo_url="$2"
      shift 2
      ;;
    --*) fail "unknown option $1; $usage" ;;
    *)
      positional+=("$1")
      shift
      ;;
  esac
done
[ "${#positional[@]}" -eq 1 ] || fail "$usage   (exactly one repository argument, got ${#positional[@]})"
new="${positional[0]}"
reason="$(invalid_reason "$new")"
[ -z "$reason" ] || fail "$reason"
url_pattern='^(https?|git|ssh)://[A-Za-z0-9.@:_~%/-]+$'
[ -z "$new_repo_url" ] || [[ "$new_repo_url" =~ $url_pattern ]] ||
  fail "--repo-url \"$new_repo_url\" must be an http(s)://, git:// or ssh:// URL without spaces or query"

[ -f "$ENV_FILE" ] || fail "$ENV_FILE is missing"
mapfile -t assignments < <(grep -E '^GITHUB_REPOSITORY=' "$ENV_FILE")
[ "${#assignments[@]}" -eq 1 ] || fail "$ENV_FILE must assign GITHUB_REPOSITORY exactly once"
old="${assignments[0]#GITHUB_REPOSITORY=}"
reason="$(invalid_reason "$old")"
[ -z "$reason" ] || fail "$ENV_FILE: $reason"

old_url="$(sed -n 's/^REPOSITORY_URL=//p' "$ENV_FILE")"
old_url="${old_url:-https://github.com/$old.git}"
new_url="${new_repo_url:-https://github.com/$new.git}"

if [ "$old" = "$new" ] && [ "$old_url" = "$new_url" ]; then
  echo "already $new at $new_url: nothing to change"
  exit 0
fi

# Registries want lower case image names; GitHub URLs keep the owner's spelling.
lower() { tr '[:upper:]' '[:lower:]' <<<"$1"; }

# Replaces a literal string (no pattern characters) in each file given after the two strings.
replace_literal() {
  FROM="$1" TO="$2" perl -pi -e 's/\Q$ENV{FROM}\E/$ENV{TO}/g' "${@:3}"
}

# Files under a directory that contain a literal string, skipping installed dependencies.
files_containing() {
  grep -rlF --include='*.yaml' --include='*.yml' --exclude-dir=node_modules -e "$2" "$1" || true
}

old_images="ghcr.io/$(lower "$old")/"
new_images="ghcr.io/$(lower "$new")/"
# The keyless signer identity (Fulcio certificate subject) keeps GitHub's spelling.
old_workflows="https://github.com/$old/.github/workflows/"
new_workflows="https://github.com/$new/.github/workflows/"

mapfile -t argocd_files < <(files_containing "$ROOT/argocd" "$old_url")
mapfile -t deploy_files < <(files_containing "$ROOT/deploy" "$old_images")
mapfile -t identity_files < <(files_containing "$ROOT/deploy" "$old_workflows")

[ "${#argocd_files[@]}" -eq 0 ] || replace_literal "$old_url" "$new_url" "${argocd_files[@]}"
[ "${#deploy_files[@]}" -eq 0 ] || replace_literal "$old_images" "$new_images" "${deploy_files[@]}"
[ "${#identity_files[@]}" -eq 0 ] || replace_literal "$old_workflows" "$new_workflows" "${identity_files[@]}"
replace_literal "GITHUB_REPOSITORY=$old" "GITHUB_REPOSITORY=$new" "$ENV_FILE"
sed -i '/^REPOSITORY_URL=/d' "$ENV_FILE"
[ -z "$new_repo_url" ] || echo "REPOSITORY_URL=$new_repo_url" >>"$ENV_FILE"

echo "repository: $old -> $new"
echo "repoURL $new_url in ${#argocd_files[@]} files under argocd/"
echo "images ${new_images}<service> in ${#deploy_files[@]} files under deploy/"
echo "signer ${new_workflows}release.yml in ${#identity_files[@]} files under deploy/"
