#!/usr/bin/env bash
# Builds the lab's components from the Go module proxy (and the npm registry for the web UIs of
# Argo CD and Prometheus),
# each cached by version under .tools/lab: a present version is never rebuilt.
#
#   kubernetes-<v>/bin   kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy
#   etcd-<v>/bin         etcd
#   argocd-<v>/bin       argocd (+ the component names it dispatches on), git-verify-wrapper.sh
#   node-<versions>/bin  coredns kube-router metrics-server crictl (static), pause
#   sigstore-<versions>/bin  policy-controller-webhook, cosign
#   sealed-secrets-<v>/bin   sealed-secrets-controller (static)
#   cert-manager-<v>/bin     cert-manager-controller (static; from a snapshot of its repository)
#   traefik-<v>/bin          traefik (static; in a wrapper module)
#   prometheus-operator-<v>/bin  operator, prometheus-config-reloader (static; in a copy of the module)
#   prometheus-<v>-web-ui/bin  prometheus (static; in a copy of the module, Kubernetes discovery only,
#                            its web UI embedded)
#   alertmanager-<v>/bin     alertmanager (static)
#   argo-rollouts-<v>/bin    rollouts-controller (static; in a copy of the module)
#
# Usage: build.sh [component...]   (default: all of them; node, sigstore, sealed_secrets,
# cert_manager, traefik, prometheus_operator, prometheus, alertmanager and argo_rollouts only unless
# LAB_NODE=0)
# A second build started while one runs waits for it (a lock in the cache folder).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BUILD_LOGS="$LAB_CACHE/logs"
SRC="$LAB_CACHE/src"
export GOFLAGS="-mod=mod -buildvcs=false"

# The staging modules k8s.io/kubernetes replaces with ./staging paths, each pinned to v0.<minor>.<patch>.
kubernetes_wrapper() {
  local dir="$1" version="$2" module_dir
  module_dir="$(module_dir "k8s.io/kubernetes@$version")"
  mkdir -p "$dir"
  {
    printf 'module lab/kubernetes\n\ngo 1.24.0\n\nrequire k8s.io/kubernetes %s\n\n' "$version"
    awk -v v="v0${version#v1}" '$2 == "=>" && $3 ~ /^\.\/staging\// { printf "replace %s => %s %s\n", $1, $1, v }' \
      "$module_dir/go.mod"
  } >"$dir/go.mod"
  {
    printf 'package tools\n\nimport (\n'
    printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "${K8S_COMMANDS[@]}"
    printf ')\n'
  } >"$dir/tools.go"
  (cd "$dir" && go mod tidy)
}

# The control plane, the node's kubelet and kube-proxy, and the CLI.
K8S_COMMANDS=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy)

build_kubernetes() {
  local version="$LAB_KUBERNETES_VERSION" dir="$SRC/kubernetes-$LAB_KUBERNETES_VERSION" cmd missing=()
  for cmd in "${K8S_COMMANDS[@]}"; do [ -x "$K8S_BIN/$cmd" ] || missing+=("$cmd"); done
  [ ${#missing[@]} -eq 0 ] && { lab_log "kubernetes $version present"; return 0; }
  step "kubernetes $version: wrapper module" "$BUILD_LOGS/kubernetes.log" kubernetes_wrapper "$dir" "$version"
  # Without the version stamped in, client and server fail to parse "v0.0.0-master".
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$version -X k8s.io/client-go/pkg/version.gitVersion=$version"
  ldflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$version" | cut -d. -f2)"
  mkdir -p "$K8S_BIN.partial"
  step "kubernetes $version: go build (minutes when cold)" "$BUILD_LOGS/kubernetes.log" \
    bash -c "cd '$dir' && go build -ldflags '$ldflags' -o '$K8S_BIN.partial/' ${K8S_COMMANDS[*]/#/k8s.io/kubernetes/cmd/}"
  rm -rf "$K8S_BIN" && mv "$K8S_BIN.partial" "$K8S_BIN"
}

etcd_wrapper() {
  local dir="$1" version="$2"
  mkdir -p "$dir"
  printf 'module lab/etcd\n\ngo 1.24.0\n' >"$dir/go.mod"
  cat >"$dir/main.go" <<'GO'
// etcd's own entry point, so the server builds from its module alone.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  (cd "$dir" && go get "go.etcd.io/etcd/server/v3@$version" && go mod tidy)
}

build_etcd() {
  local version="$LAB_ETCD_VERSION" dir="$SRC/etcd-$LAB_ETCD_VERSION"
  [ -x "$ETCD_BIN/etcd" ] && { lab_log "etcd $version present"; return 0; }
  step "etcd $version: wrapper module" "$BUILD_LOGS/etcd.log" etcd_wrapper "$dir" "$version"
  mkdir -p "$ETCD_BIN"
  step "etcd $version: go build" "$BUILD_LOGS/etcd.log" bash -c "cd '$dir' && go build -ldflags '-s -w' -o '$ETCD_BIN/etcd' ."
}

# A writable copy of the module that builds gitops-engine from the proxy: the module's go.mod
# replaces it with ./gitops-engine, a nested module the argo-cd zip leaves out; the version it
# requires (the same release, tagged gitops-engine/vX.Y.Z) is the one the proxy serves.
argocd_source() {
  local dir="$1"
  module_copy "$dir" "$ARGO_CD_MODULE@$ARGO_CD_VERSION"
  (cd "$dir" &&
    go mod edit -dropreplace github.com/argoproj/argo-cd/gitops-engine/v3 &&
    go mod tidy)
}

# The module embeds ui/dist/app, which holds only a placeholder: build the real UI first. Its
# argo-ui dependency is a GitHub commit URL, and GitHub is unreachable here: argo-ui comes from a
# snapshot of its repository at LAB_ARGO_UI_COMMIT (scripts/tools.versions says why that commit),
# packed as npm packs it.
argo_ui_tarball() {
  local out="$1" snapshot unpacked packed
  snapshot="$(repository_snapshot argoproj/argo-ui "$LAB_ARGO_UI_COMMIT" "${ARGO_UI_SOURCE:-}")" || {
    echo "no argo-ui $LAB_ARGO_UI_COMMIT in ${ARGO_UI_SOURCE:-the snapshots}: ARGO_UI_SOURCE must name a git directory of github.com/argoproj/argo-ui that has it"
    return 1
  }
  unpacked="$(mktemp -d)"
  git -C "$snapshot" archive "$LAB_ARGO_UI_COMMIT" | tar -x -C "$unpacked"
  # npm pack prints the name of the tarball it wrote.
  packed="$(cd "$unpacked" && npm pack --ignore-scripts --silent)"
  mv "$unpacked/$packed" "$out"
  rm -rf "$unpacked"
}

argocd_ui() {
  local dir="$1/ui" pnpm_dir="$LAB_CACHE/pnpm-$LAB_PNPM_VERSION"
  [ -x "$pnpm_dir/node_modules/.bin/pnpm" ] || npm install --no-save --prefix "$pnpm_dir" "pnpm@$LAB_PNPM_VERSION"
  argo_ui_tarball "$dir/argo-ui.tgz"
  sed -i 's#"argo-ui": "git+https://github.com/argoproj/argo-ui.git\#[0-9a-f]*"#"argo-ui": "file:./argo-ui.tgz"#' "$dir/package.json"
  grep -q '"argo-ui": "file:./argo-ui.tgz"' "$dir/package.json"
  # The build's environment as upstream's Dockerfile sets it: without NODE_ENV=production the
  # webpack config bundles in development mode, React Refresh included, and the UI fails to start
  # ("$RefreshReg$ is not defined").
  (cd "$dir" && CI=true "$pnpm_dir/node_modules/.bin/pnpm" install --no-frozen-lockfile &&
    NODE_ENV=production NODE_ONLINE_ENV=online NODE_OPTIONS=--max-old-space-size=4096 \
      "$pnpm_dir/node_modules/.bin/pnpm" run build)
  [ -f "$dir/dist/app/index.html" ]
}

build_argocd() {
  local dir="$SRC/argocd-$ARGO_CD_VERSION"
  # The Go release the module's go.mod requires (the go command downloads it once).
  local -x GOTOOLCHAIN="$ARGO_CD_GO_TOOLCHAIN"
  [ -x "$ARGOCD_BIN/argocd" ] && { lab_log "argocd $ARGO_CD_VERSION present"; return 0; }
  step "argocd $ARGO_CD_VERSION: module source" "$BUILD_LOGS/argocd.log" argocd_source "$dir"
  step "argocd $ARGO_CD_VERSION: UI (pnpm install + webpack)" "$BUILD_LOGS/argocd-ui.log" argocd_ui "$dir"
  local pkg="github.com/argoproj/argo-cd/v3/common"
  local ldflags="-s -w -X $pkg.version=${ARGO_CD_VERSION#v} -X $pkg.gitTag=$ARGO_CD_VERSION -X $pkg.kubectlVersion=$LAB_KUBERNETES_VERSION"
  mkdir -p "$ARGOCD_BIN.partial"
  step "argocd $ARGO_CD_VERSION: go build (minutes when cold)" "$BUILD_LOGS/argocd.log" \
    bash -c "cd '$dir' && go build -ldflags '$ldflags' -o '$ARGOCD_BIN.partial/argocd' ./cmd"
  local name
  for name in argocd-server argocd-repo-server argocd-application-controller argocd-applicationset-controller; do
    ln -sf argocd "$ARGOCD_BIN.partial/$name"
  done
  install -m 0755 "$dir/hack/git-verify-wrapper.sh" "$ARGOCD_BIN.partial/git-verify-wrapper.sh"
  rm -rf "$ARGOCD_BIN" && mv "$ARGOCD_BIN.partial" "$ARGOCD_BIN"
}

# The node's add-ons, statically linked so each image is the binary alone, and the pod sandbox
# program (pause.c), since no registry that has the upstream one is reachable.
build_node() {
  [ -x "$NODE_BIN/coredns" ] && [ -x "$NODE_BIN/kube-router" ] && [ -x "$NODE_BIN/metrics-server" ] &&
    [ -x "$NODE_BIN/pause" ] && [ -x "$NODE_BIN/crictl" ] && { lab_log "node add-ons present"; return 0; }
  local log="$BUILD_LOGS/node.log" module
  mkdir -p "$NODE_BIN.partial"
  for module in "$LAB_COREDNS_MODULE@$LAB_COREDNS_VERSION" \
    "$LAB_KUBE_ROUTER_MODULE/cmd/kube-router@$LAB_KUBE_ROUTER_VERSION" \
    "$LAB_METRICS_SERVER_MODULE/cmd/metrics-server@$LAB_METRICS_SERVER_VERSION" \
    "$LAB_CRI_TOOLS_MODULE/cmd/crictl@$LAB_CRI_TOOLS_VERSION"; do
    step "node: go install $module" "$log" env CGO_ENABLED=0 GOBIN="$NODE_BIN.partial" go install -ldflags '-s -w' "$module"
  done
  step "node: pause (gcc -static)" "$log" gcc -static -Os -s -o "$NODE_BIN.partial/pause" "$LAB_ROOT/lab/scripts/node/pause.c"
  rm -rf "$NODE_BIN" && mv "$NODE_BIN.partial" "$NODE_BIN"
}

# Sigstore's policy-controller webhook and cosign. policy-controller's go.mod has replace
# directives, which `go install mod@version` refuses: it builds inside a writable copy of the
# module (as Argo CD does), so they apply as upstream meant; cosign installs as it is.
build_sigstore() {
  [ -x "$SIGSTORE_BIN/policy-controller-webhook" ] && [ -x "$SIGSTORE_BIN/cosign" ] &&
    { lab_log "sigstore (policy-controller, cosign) present"; return 0; }
  local log="$BUILD_LOGS/sigstore.log" dir="$SRC/policy-controller-$POLICY_CONTROLLER_VERSION"
  mkdir -p "$SIGSTORE_BIN.partial"
  step "sigstore: policy-controller $POLICY_CONTROLLER_VERSION module source" "$log" module_copy "$dir" "$POLICY_CONTROLLER_MODULE@$POLICY_CONTROLLER_VERSION"
  step "sigstore: policy-controller webhook go build" "$log" bash -c "cd '$dir' && go build \
    -ldflags '-s -w -X sigs.k8s.io/release-utils/version.gitVersion=$POLICY_CONTROLLER_VERSION' \
    -o '$SIGSTORE_BIN.partial/policy-controller-webhook' ./cmd/webhook"
  step "sigstore: go install $LAB_COSIGN_MODULE/cmd/cosign@$LAB_COSIGN_VERSION" "$log" \
    env GOBIN="$SIGSTORE_BIN.partial" go install -ldflags "-s -w -X sigs.k8s.io/release-utils/version.gitVersion=$LAB_COSIGN_VERSION" \
    "$LAB_COSIGN_MODULE/cmd/cosign@$LAB_COSIGN_VERSION"
  rm -rf "$SIGSTORE_BIN" && mv "$SIGSTORE_BIN.partial" "$SIGSTORE_BIN"
}

# The Sealed Secrets controller, run as a pod: its module declares another path than the one it
# is served under, which `go install mod@version` refuses, so it builds inside a copy. Static, so
# its image is the binary alone.
build_sealed_secrets() {
  [ -x "$SEALED_SECRETS_BIN/sealed-secrets-controller" ] && { lab_log "sealed-secrets controller $SEALED_SECRETS_VERSION present"; return 0; }
  local log="$BUILD_LOGS/sealed-secrets.log" dir="$SRC/sealed-secrets-$SEALED_SECRETS_VERSION"
  mkdir -p "$SEALED_SECRETS_BIN.partial"
  step "sealed-secrets $SEALED_SECRETS_VERSION: module source" "$log" module_copy "$dir" "$SEALED_SECRETS_MODULE@$SEALED_SECRETS_VERSION"
  step "sealed-secrets: controller go build" "$log" bash -c "cd '$dir' && CGO_ENABLED=0 go build \
    -ldflags '-s -w -X main.VERSION=$SEALED_SECRETS_VERSION' -o '$SEALED_SECRETS_BIN.partial/sealed-secrets-controller' ./cmd/controller"
  rm -rf "$SEALED_SECRETS_BIN" && mv "$SEALED_SECRETS_BIN.partial" "$SEALED_SECRETS_BIN"
}

# cert-manager's controller, run as a pod. Its main package is the nested module
# github.com/cert-manager/cert-manager/controller-binary (cmd/controller), which the Go module
# proxy does not serve: it comes from a snapshot of the repository at the pinned tag
# (CERT_MANAGER_SOURCE, a git directory). That module replaces the root module with ../../; the
# build drops the replace and requires the root module at the same tag from the proxy instead, so
# only cmd/controller is taken from the snapshot. The webhook and the cainjector are not built:
# the controller alone issues certificates, and the CRDs serve v1 only, so no conversion webhook
# is needed.
cert_manager_source() {
  local dir="$1" snapshot="$2"
  rm -rf "$dir" && mkdir -p "$dir"
  git -C "$snapshot" archive "$CERT_MANAGER_VERSION" cmd/controller | tar -x -C "$dir"
  (cd "$dir/cmd/controller" &&
    go mod edit -dropreplace="$CERT_MANAGER_MODULE" -require="$CERT_MANAGER_MODULE@$CERT_MANAGER_VERSION" &&
    go mod tidy)
}

# repository_snapshot <owner/name> <revision> <override>: a git directory of that GitHub repository
# that has the revision: the override, or else the first that has it of the folder of snapshots
# beside the checkout and the one the machine's fetch tool fills (/work/.mirror).
repository_snapshot() {
  local repository="$1" revision="$2" candidates=("$3") candidate
  [ -n "$3" ] || candidates=("$(dirname "$LAB_ROOT")/.mirror/${repository/\//+}/repo" "/work/.mirror/${repository/\//+}/repo")
  for candidate in "${candidates[@]}"; do
    git -C "$candidate" rev-parse -q --verify "$revision^{commit}" >/dev/null 2>&1 && { echo "$candidate"; return 0; }
  done
  return 1
}

build_cert_manager() {
  [ -x "$CERT_MANAGER_BIN/cert-manager-controller" ] && { lab_log "cert-manager controller $CERT_MANAGER_VERSION present"; return 0; }
  local log="$BUILD_LOGS/cert-manager.log" dir="$SRC/cert-manager-$CERT_MANAGER_VERSION" commit snapshot
  snapshot="$(repository_snapshot cert-manager/cert-manager "refs/tags/$CERT_MANAGER_VERSION" "${CERT_MANAGER_SOURCE:-}")" ||
    lab_fail "no cert-manager $CERT_MANAGER_VERSION in ${CERT_MANAGER_SOURCE:-the snapshots}: CERT_MANAGER_SOURCE must name a git directory of github.com/cert-manager/cert-manager that has the tag $CERT_MANAGER_VERSION (its controller is a nested module the Go proxy does not serve)"
  commit="$(git -C "$snapshot" rev-parse "refs/tags/$CERT_MANAGER_VERSION^{commit}")"
  mkdir -p "$CERT_MANAGER_BIN.partial"
  step "cert-manager $CERT_MANAGER_VERSION: cmd/controller from $snapshot" "$log" cert_manager_source "$dir" "$snapshot"
  local pkg="$CERT_MANAGER_MODULE/pkg/util"
  step "cert-manager: controller go build (minutes when cold)" "$log" bash -c "cd '$dir/cmd/controller' && CGO_ENABLED=0 go build \
    -ldflags '-s -w -X $pkg.AppVersion=$CERT_MANAGER_VERSION -X $pkg.AppGitCommit=$commit' \
    -o '$CERT_MANAGER_BIN.partial/cert-manager-controller' ."
  rm -rf "$CERT_MANAGER_BIN" && mv "$CERT_MANAGER_BIN.partial" "$CERT_MANAGER_BIN"
}

# Traefik, the lab's internal ingress controller, run as a pod. Its go.mod replaces three modules
# with ones the proxy does not serve, so `go install mod@version` refuses it; the wrapper module
# here requires it and sets its own replaces instead:
#   - github.com/traefik/traefik/dynamic/ext, a nested module of Traefik's repository left out of
#     the zip: the open-source build only names its two extension types (empty structs), so a
#     local module declares just those;
#   - abbot/go-http-auth and gorilla/mux, which Traefik replaces with its forks: the same forks,
#     at commits the proxy serves;
#   - go-acme/lego (ACME, which an internal CA's controller never uses): a writable copy at
#     TRAEFIK_LEGO_VERSION without the Akamai and Oracle DNS providers, whose SDKs the proxy
#     refuses.
traefik_wrapper() {
  local dir="$1"
  rm -rf "$dir" && mkdir -p "$dir/ext"
  printf 'module github.com/traefik/traefik/dynamic/ext\n\ngo 1.24.0\n' >"$dir/ext/go.mod"
  cat >"$dir/ext/ext.go" <<'GO'
// Package ext holds the extension points of Traefik's dynamic configuration, empty in its
// open-source build.
package ext

// HTTP extends dynamic.HTTP.
type HTTP struct{}

// Router extends dynamic.Router.
type Router struct{}
GO
  module_copy "$dir/lego" "github.com/go-acme/lego/v5@$TRAEFIK_LEGO_VERSION"
  sed -i -e '/providers\/dns\/edgedns"/d' -e '/providers\/dns\/oraclecloud"/d' \
    -e '/^\tcase "edgedns", "fastdns":$/,+1d' -e '/^\tcase "oraclecloud":$/,+1d' \
    "$dir/lego/providers/dns/zz_gen_dns_providers.go"
  rm -rf "$dir/lego/providers/dns/edgedns" "$dir/lego/providers/dns/oraclecloud" "$dir/lego/providers/dns/dns_providers_test.go"
  if grep -q 'edgedns\|oraclecloud' "$dir/lego/providers/dns/zz_gen_dns_providers.go"; then
    echo "lego $TRAEFIK_LEGO_VERSION: the Akamai and Oracle DNS providers are still registered (zz_gen_dns_providers.go changed)"
    return 1
  fi
  cat >"$dir/go.mod" <<MOD
module lab/traefik

go 1.26.0

require (
	$TRAEFIK_MODULE $TRAEFIK_VERSION
	github.com/go-acme/lego/v5 $TRAEFIK_LEGO_VERSION
)

replace github.com/traefik/traefik/dynamic/ext => ./ext

replace github.com/go-acme/lego/v5 => ./lego

replace (
	github.com/abbot/go-http-auth => github.com/containous/go-http-auth v0.4.1-0.20200324110947-a37a7636d23e
	github.com/gorilla/mux => github.com/containous/mux v0.0.0-20250523120546-41b6ec3aed59
)

exclude github.com/tencentcloud/tencentcloud-sdk-go v3.0.83+incompatible
MOD
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s/cmd/traefik"\n' "$TRAEFIK_MODULE" >"$dir/tools.go"
  (cd "$dir" && go mod tidy)
}

build_traefik() {
  [ -x "$TRAEFIK_BIN/traefik" ] && { lab_log "traefik $TRAEFIK_VERSION present"; return 0; }
  local log="$BUILD_LOGS/traefik.log" dir="$SRC/traefik-$TRAEFIK_VERSION"
  mkdir -p "$TRAEFIK_BIN.partial"
  step "traefik $TRAEFIK_VERSION: wrapper module" "$log" traefik_wrapper "$dir"
  step "traefik: go build (minutes when cold)" "$log" bash -c "cd '$dir' && CGO_ENABLED=0 go build \
    -ldflags '-s -w -X $TRAEFIK_MODULE/pkg/version.Version=$TRAEFIK_VERSION' \
    -o '$TRAEFIK_BIN.partial/traefik' $TRAEFIK_MODULE/cmd/traefik"
  rm -rf "$TRAEFIK_BIN" && mv "$TRAEFIK_BIN.partial" "$TRAEFIK_BIN"
}

# The Prometheus Operator and its config reloader, run as pods (lab/scripts/monitoring.sh). Its
# go.mod replaces its two nested modules (pkg/apis/monitoring, pkg/client) with their folders,
# which the module's zip leaves out, and `go install mod@version` refuses replaces: it builds in a
# writable copy without those replaces, so the nested modules come from the proxy at the same
# version (the one the go.mod requires). Static, so each image is the binary alone.
prometheus_operator_source() {
  local dir="$1"
  module_copy "$dir" "$PROMETHEUS_OPERATOR_MODULE@$PROMETHEUS_OPERATOR_VERSION"
  (cd "$dir" &&
    go mod edit -dropreplace="$PROMETHEUS_OPERATOR_MODULE/pkg/apis/monitoring" \
      -dropreplace="$PROMETHEUS_OPERATOR_MODULE/pkg/client" &&
    go mod tidy)
}

build_prometheus_operator() {
  [ -x "$PROMETHEUS_OPERATOR_BIN/operator" ] && [ -x "$PROMETHEUS_OPERATOR_BIN/prometheus-config-reloader" ] &&
    { lab_log "prometheus-operator $PROMETHEUS_OPERATOR_VERSION present"; return 0; }
  local log="$BUILD_LOGS/prometheus-operator.log" dir="$SRC/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION"
  local pkg="github.com/prometheus/common/version"
  mkdir -p "$PROMETHEUS_OPERATOR_BIN.partial"
  step "prometheus-operator $PROMETHEUS_OPERATOR_VERSION: module source" "$log" prometheus_operator_source "$dir"
  step "prometheus-operator: operator and config reloader go build (minutes when cold)" "$log" bash -c "cd '$dir' && \
    CGO_ENABLED=0 go build -ldflags '-s -w -X $pkg.Version=${PROMETHEUS_OPERATOR_VERSION#v} -X $pkg.Branch=$PROMETHEUS_OPERATOR_VERSION' \
      -o '$PROMETHEUS_OPERATOR_BIN.partial/' ./cmd/operator ./cmd/prometheus-config-reloader"
  rm -rf "$PROMETHEUS_OPERATOR_BIN" && mv "$PROMETHEUS_OPERATOR_BIN.partial" "$PROMETHEUS_OPERATOR_BIN"
}

# The Prometheus server the operator runs (Prometheus v3, the LTS the operator defaults to). Its
# go.mod has a replace (fsnotify), so it builds in a writable copy; plugins/plugins.go, which
# upstream generates from plugins.yml, is cut to the Kubernetes service discovery, the only one the
# operator's configuration uses, as upstream documents for a smaller build: the cloud SDKs of the
# other twenty-odd mechanisms are not compiled.
prometheus_source() {
  local dir="$1"
  module_copy "$dir" "$PROMETHEUS_MODULE@$PROMETHEUS_VERSION"
  grep -q '"github.com/prometheus/prometheus/discovery/kubernetes"' "$dir/plugins/plugins.go" ||
    { echo "plugins/plugins.go of $PROMETHEUS_VERSION does not register the kubernetes discovery"; return 1; }
  sed -i -e '/^\t\/\/ Register [a-z]* plugin\.$/d' -e '/^\t_ "github.com\/prometheus\/prometheus\/discovery\//{/discovery\/kubernetes"$/!d}' \
    "$dir/plugins/plugins.go"
  (cd "$dir" && go mod tidy)
}

# Prometheus's web UI (the Mantine one of v3; not the old React app) built from the module's
# web/ui workspace as upstream's `make assets assets-compress` does, for the builtinassets tag to
# embed: the module holds the sources and the lockfile, not the built assets.
prometheus_ui() {
  (cd "$1/web/ui" && npm ci --no-audit --no-fund && bash build_ui.sh --build-module &&
    npm run build -w @prometheus-io/mantine-ui &&
    rm -rf static/mantine-ui && mkdir -p static && mv mantine-ui/dist static/mantine-ui)
  (cd "$1" && bash scripts/compress_assets.sh)
}

build_prometheus() {
  [ -x "$PROMETHEUS_BIN/prometheus" ] && { lab_log "prometheus $PROMETHEUS_VERSION present"; return 0; }
  local log="$BUILD_LOGS/prometheus.log" dir="$SRC/prometheus-$PROMETHEUS_VERSION" release
  release="$(cat "$(module_dir "$PROMETHEUS_MODULE@$PROMETHEUS_VERSION")/VERSION")"
  local pkg="github.com/prometheus/common/version"
  mkdir -p "$PROMETHEUS_BIN.partial"
  step "prometheus $release ($PROMETHEUS_VERSION): module source, Kubernetes discovery only" "$log" prometheus_source "$dir"
  step "prometheus: web UI (npm ci, vite)" "$log" prometheus_ui "$dir"
  step "prometheus: go build (minutes when cold)" "$log" bash -c "cd '$dir' && CGO_ENABLED=0 go build -tags builtinassets \
    -ldflags '-s -w -X $pkg.Version=$release -X $pkg.Branch=v$release' -o '$PROMETHEUS_BIN.partial/prometheus' ./cmd/prometheus"
  rm -rf "$PROMETHEUS_BIN" && mv "$PROMETHEUS_BIN.partial" "$PROMETHEUS_BIN"
}

build_alertmanager() {
  [ -x "$ALERTMANAGER_BIN/alertmanager" ] && { lab_log "alertmanager $ALERTMANAGER_VERSION present"; return 0; }
  local pkg="github.com/prometheus/common/version"
  step "alertmanager: go install $ALERTMANAGER_MODULE/cmd/alertmanager@$ALERTMANAGER_VERSION" "$BUILD_LOGS/alertmanager.log" \
    env CGO_ENABLED=0 GOBIN="$ALERTMANAGER_BIN.partial" go install \
    -ldflags "-s -w -X $pkg.Version=${ALERTMANAGER_VERSION#v} -X $pkg.Branch=$ALERTMANAGER_VERSION" \
    "$ALERTMANAGER_MODULE/cmd/alertmanager@$ALERTMANAGER_VERSION"
  rm -rf "$ALERTMANAGER_BIN" && mv "$ALERTMANAGER_BIN.partial" "$ALERTMANAGER_BIN"
}

# The Argo Rollouts controller, which runs payment's canaries: its go.mod pins Kubernetes' modules
# with replace directives, which `go install mod@version` refuses, so it builds inside a copy.
build_argo_rollouts() {
  [ -x "$ARGO_ROLLOUTS_BIN/rollouts-controller" ] && { lab_log "argo-rollouts $ARGO_ROLLOUTS_VERSION present"; return 0; }
  local log="$BUILD_LOGS/argo-rollouts.log" dir="$SRC/argo-rollouts-$ARGO_ROLLOUTS_VERSION"
  local pkg="github.com/argoproj/argo-rollouts/utils/version"
  mkdir -p "$ARGO_ROLLOUTS_BIN.partial"
  step "argo-rollouts $ARGO_ROLLOUTS_VERSION: module source" "$log" module_copy "$dir" "$ARGO_ROLLOUTS_MODULE@$ARGO_ROLLOUTS_VERSION"
  step "argo-rollouts: controller go build (minutes when cold)" "$log" bash -c "cd '$dir' && CGO_ENABLED=0 go build \
    -ldflags '-s -w -X $pkg.version=${ARGO_ROLLOUTS_VERSION#v}' -o '$ARGO_ROLLOUTS_BIN.partial/rollouts-controller' ./cmd/rollouts-controller"
  rm -rf "$ARGO_ROLLOUTS_BIN" && mv "$ARGO_ROLLOUTS_BIN.partial" "$ARGO_ROLLOUTS_BIN"
}

# module_copy <dir> <module@version>: a writable copy of a module from the module cache.
module_copy() {
  local dir="$1" module_dir
  module_dir="$(module_dir "$2")"
  rm -rf "$dir" && mkdir -p "$(dirname "$dir")"
  cp -r "$module_dir" "$dir" && chmod -R u+w "$dir"
}

main() {
  command -v go >/dev/null || lab_fail "go is required to build the lab (Go 1.26 or newer)"
  mkdir -p "$BUILD_LOGS" "$SRC"
  # One build at a time: CI starts one early beside the other tests (.ci/run), and lab:up's own
  # build waits for it here, then finds every component present.
  exec 8>"$LAB_CACHE/.build.lock"
  flock 8
  local components=("$@")
  if [ ${#components[@]} -eq 0 ]; then
    components=(etcd kubernetes argocd)
    [ "$LAB_NODE" = 0 ] || components+=(node sigstore sealed_secrets cert_manager traefik prometheus_operator prometheus alertmanager argo_rollouts)
  fi
  local c pids=() failed=0 pid
  for c in "${components[@]}"; do
    case "$c" in
      etcd | kubernetes | argocd | node | sigstore | sealed_secrets | cert_manager | traefik | prometheus_operator | prometheus | alertmanager | argo_rollouts) ;;
      *) lab_fail "unknown component '$c' (expected: etcd kubernetes argocd node sigstore sealed_secrets cert_manager traefik prometheus_operator prometheus alertmanager argo_rollouts)" ;;
    esac
  done
  # Side by side: Argo CD's UI build (node) and module download overlap the Go compiles, which
  # already use every core; each component writes its own log and cache folder.
  for c in "${components[@]}"; do
    "build_$c" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  [ "$failed" -eq 0 ] || lab_fail "a build failed (see the step above and $BUILD_LOGS)"
}

main "$@"
