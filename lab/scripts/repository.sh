# shellcheck shell=bash
# The repository Argo CD watches in the lab, sourced by up.sh: the git server on loopback, the
# lab's clone prepared as a platform admin would (argocd/README.md), the README's commands run in
# it, and the lab's images released into it.

LAB_IMAGES_COMMIT="lab: images from the lab's registry"

# The repository Argo CD watches: a bare repository served by git daemon, and LAB_REPO, a working
# clone of this checkout's HEAD to commit and push in.
start_git_server() {
  if [ ! -d "$LAB_DIR/git/payments-gitops.git" ]; then
    mkdir -p "$LAB_DIR/git"
    git init -q --bare -b main "$LAB_DIR/git/payments-gitops.git"
    git -C "$LAB_DIR/git/payments-gitops.git" config receive.denyNonFastForwards false
    rm -rf "$LAB_REPO"
    git clone -q --no-hardlinks "$LAB_ROOT" "$LAB_REPO"
    git -C "$LAB_REPO" checkout -q -B main
    git -C "$LAB_REPO" remote set-url origin "$LAB_GIT_URL"
    git -C "$LAB_REPO" config user.name "Lab user"
    git -C "$LAB_REPO" config user.email "lab@localhost"
    # The delivery scripts read catalogue.yaml with this checkout's installed packages, as they
    # would after npm ci in the clone (a symlink, excluded locally: never committed).
    ln -s "$LAB_ROOT/node_modules" "$LAB_REPO/node_modules"
    echo /node_modules >>"$LAB_REPO/.git/info/exclude"
  fi
  start_process git-daemon git daemon --reuseaddr --listen=127.0.0.1 --port="$LAB_GIT_PORT" \
    --base-path="$LAB_DIR/git" --export-all --enable=receive-pack "$LAB_DIR/git"
  wait_for "git daemon" 20 port_open "$LAB_GIT_PORT" || lab_fail "git daemon did not listen (log: $LAB_LOGS/git-daemon.log)"
  git -C "$LAB_REPO" push -q origin main
}

# The shell block that follows `<!-- lab: NAME -->` in a README: the commands a user runs.
readme_block() {
  awk -v marker="<!-- lab: $2 -->" '
    index($0, marker) { found = 1; next }
    found && /^```/ { if (inside) exit; inside = 1; next }
    inside { print }' "$1"
}

# What a platform admin does before the bootstrap (argocd/README.md), done in the lab's clone:
# adopt the lab's git URL and set argocd-cm and argocd-notifications-cm for this installation.
prepare_lab_repository() {
  (
    cd "$LAB_REPO" || exit 1
    delivery adopt-fork lab/payments-gitops --repo-url "$LAB_GIT_URL"
    local cm=argocd/platform/argocd-cm.yaml
    if ! grep -q "# lab only" "$cm"; then
      if ! grep -q "^  url: " "$cm" || ! grep -q "^  admin.enabled: 'false'" "$cm"; then
        echo "$cm no longer has the url/admin.enabled lines the lab sets"
        exit 1
      fi
    fi
    sed -i "s#^  url: .*#  url: http://127.0.0.1:$LAB_ARGOCD_SERVER_PORT#; s#^  admin.enabled: 'false'#  admin.enabled: 'true' \# lab only#" "$cm"
    # Argo CD's notifications controller runs on this machine, outside the cluster's DNS: it posts
    # to the Alertmanager's fixed cluster address instead (lab/scripts/monitoring.sh).
    local notifications=argocd/platform/argocd-notifications-cm.yaml
    grep -q "^    url: http://alertmanager-operated.monitoring.svc:9093$" "$notifications" ||
      grep -q "^    url: http://$LAB_ALERTMANAGER_IP:9093$" "$notifications" || {
      echo "$notifications no longer has the Alertmanager url line the lab sets"
      exit 1
    }
    sed -i "s#^    url: http://alertmanager-operated.monitoring.svc:9093\$#    url: http://$LAB_ALERTMANAGER_IP:9093#" "$notifications"
    git add -A
    git diff --cached --quiet || git commit -qm "lab: adopt the lab's git server; local admin for the lab's UI"
    git push -q origin main
  )
}

# run_readme_block <name>: runs the README's commands in the lab repository, as its user would,
# with kubectl and argocd signed in as the lab's platform admin.
run_readme_block() {
  local name="$1" commands token
  commands="$(readme_block "$LAB_ROOT/argocd/README.md" "$name")"
  [ -n "$commands" ] || lab_fail "argocd/README.md has no '<!-- lab: $name -->' block to run"
  lab_log "$name, as argocd/README.md says:"
  printf '  $ %s\n' "${commands//$'\n'/$'\n  $ '}"
  token="$(admin_token)"
  (cd "$LAB_REPO" && KUBECONFIG="$ADMIN_KUBECONFIG" PATH="$K8S_BIN:$ARGOCD_BIN:$PATH" ARGOCD_SERVER="127.0.0.1:$LAB_ARGOCD_SERVER_PORT" \
    ARGOCD_OPTS=--plaintext ARGOCD_AUTH_TOKEN="$token" bash -euo pipefail -c "$commands") \
    >>"$LAB_LOGS/$name.log" 2>&1 || lab_fail "the README's $name commands failed (log: $LAB_LOGS/$name.log)"
}

# With the node, the overlays name the lab's registry (in the lab's clone only) and every
# environment runs the images of the lab repository's commit: built, pushed and bumped in dev with
# their digest as release.yml does, then promoted dev -> staging -> prod by `delivery promote`
# (what the promotion workflow runs), one commit per promotion. Done once per lab: a second
# lab:up keeps what runs.
release_lab_images() {
  (
    cd "$LAB_REPO" || exit 1
    # Not `git log | grep -q`: grep's early exit fails git log with SIGPIPE under pipefail.
    ! grep -qx "$LAB_IMAGES_COMMIT" < <(git log --format=%s) || exit 0
    local ghcr service env first from sha image_var repo_digest redis_digest
    # shellcheck disable=SC1091 # the lab clone's own, as `delivery adopt-fork` left it
    ghcr="ghcr.io/$(. scripts/repository.env && tr '[:upper:]' '[:lower:]' <<<"$GITHUB_REPOSITORY")/"
    bash "$LAB_ROOT/lab/scripts/images.sh" redis
    # shellcheck disable=SC1091 # written by images.sh
    . "$LAB_DIR/images.env"
    # Redis by digest as well, as the manifests pin the official image: policy-controller's
    # mutating webhook would otherwise add the digest to the Deployment, which Argo CD then undoes.
    redis_digest="$("$LAB_DOCKER" inspect --format '{{index .RepoDigests 0}}' "$LAB_REDIS_IMAGE")"
    grep -rlF --include='*.yaml' -e "$ghcr" deploy | xargs -r sed -i "s#${ghcr//./\\.}#127.0.0.1:$LAB_REGISTRY_PORT/#g"
    grep -rl --include='*.yaml' -e 'image: docker.io/library/redis:' deploy |
      xargs -r sed -i "s#image: docker.io/library/redis:.*#image: $LAB_REDIS_IMAGE@${redis_digest#*@}#"
    git commit -qam "$LAB_IMAGES_COMMIT"
    bash "$LAB_ROOT/lab/scripts/images.sh" --checkout "$LAB_REPO"
    # shellcheck disable=SC1091 # written by images.sh
    . "$LAB_DIR/images.env"
    sha="$(git rev-parse --short=12 HEAD)"
    first="$(delivery catalogue environments | head -n 1)"
    for service in $(delivery catalogue services); do
      image_var="LAB_IMAGE_$(tr '[:lower:]-' '[:upper:]_' <<<"$service")"
      repo_digest="$("$LAB_DOCKER" inspect --format '{{index .RepoDigests 0}}' "${!image_var}")"
      BUMP_REQUIRE_DIGEST=true delivery bump --commit --digest "${repo_digest#*@}" "$service" "$first" "$sha"
      from="$first"
      for env in $(delivery catalogue environments | tail -n +2); do
        delivery promote "$service" "$from" "$env"
        git commit -qam "deploy($env): $service $sha"
        from="$env"
      done
    done
    git push -q origin main
  )
}
