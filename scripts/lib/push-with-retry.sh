#!/usr/bin/env bash
# Pushes the current branch's new commits, and when the remote moved on meanwhile (another
# bump, a merge) rebases them onto it and tries again. A rebase conflict stops with the
# rebase undone, because two writers changed the same line and a person has to choose.
#
#   scripts/lib/push-with-retry.sh    (env: BUMP_REMOTE=origin, BUMP_BRANCH=<current branch>,
#                                      BUMP_PUSH_ATTEMPTS=5, BUMP_BACKOFF_SECONDS=2)
set -euo pipefail

remote="${BUMP_REMOTE:-origin}"
branch="${BUMP_BRANCH:-$(git symbolic-ref --quiet --short HEAD || true)}"
attempts="${BUMP_PUSH_ATTEMPTS:-5}"
backoff="${BUMP_BACKOFF_SECONDS:-2}"
[ -n "$branch" ] || { echo "error: HEAD is detached: set BUMP_BRANCH to the branch to push" >&2; exit 1; }
[[ "$attempts" =~ ^[1-9][0-9]*$ ]] || { echo "error: BUMP_PUSH_ATTEMPTS must be a positive integer, got '$attempts'" >&2; exit 1; }
[[ "$backoff" =~ ^[0-9]+$ ]] || { echo "error: BUMP_BACKOFF_SECONDS must be a whole number, got '$backoff'" >&2; exit 1; }

for ((attempt = 1; attempt <= attempts; attempt++)); do
  if git push --quiet "$remote" "HEAD:refs/heads/$branch"; then
    echo "pushed to $remote/$branch (attempt $attempt)"
    exit 0
  fi
  [ "$attempt" -lt "$attempts" ] || break
  echo "push rejected (attempt $attempt of $attempts): rebasing onto $remote/$branch"
  if ! git pull --quiet --rebase "$remote" "$branch"; then
    git rebase --abort 2>/dev/null || true
    echo "error: rebasing onto $remote/$branch conflicted; resolve by hand" >&2
    exit 1
  fi
  # Spread retries out so that several writers do not collide again in lockstep.
  sleep $((backoff * attempt + RANDOM % (backoff + 1)))
done
echo "error: could not push to $remote/$branch after $attempts attempts" >&2
exit 1
