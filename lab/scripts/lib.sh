# shellcheck disable=SC2034 # variables for the scripts that source this file
# Shared by the lab scripts (sourced). Paths, pinned versions, and `step`, which prints each
# step with its duration and, when one fails, the step, the command and the log to read.
# shellcheck shell=bash

LAB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS_DIR="${TOOLS_DIR:-$LAB_ROOT/.tools}"
# Built binaries, one folder per component and version, so a version bump rebuilds only that.
LAB_CACHE="$TOOLS_DIR/lab"
# Runtime state of one running lab: data, certificates, logs, PIDs, the env file.
LAB_DIR="${LAB_DIR:-$LAB_ROOT/.lab}"
LAB_LOGS="$LAB_DIR/logs"
LAB_PIDS="$LAB_DIR/pids"
# The lab's platform admin, as every script that talks to the API server signs in.
ADMIN_KUBECONFIG="$LAB_DIR/admin.kubeconfig"

# shellcheck source=SCRIPTDIR/../../scripts/tools.versions
. "$LAB_ROOT/scripts/tools.versions"

K8S_BIN="$LAB_CACHE/kubernetes-$LAB_KUBERNETES_VERSION/bin"
kubectl() { "$K8S_BIN/kubectl" --kubeconfig="$ADMIN_KUBECONFIG" "$@"; }
ETCD_BIN="$LAB_CACHE/etcd-$LAB_ETCD_VERSION/bin"
ARGOCD_HOME="$LAB_CACHE/argocd-$ARGO_CD_VERSION"
ARGOCD_BIN="$ARGOCD_HOME/bin"
REGISTRY_BIN="$LAB_CACHE/registry-$LAB_REGISTRY_VERSION/bin"
SEALED_SECRETS_BIN="$LAB_CACHE/sealed-secrets-$SEALED_SECRETS_VERSION/bin"
CERT_MANAGER_BIN="$LAB_CACHE/cert-manager-$CERT_MANAGER_VERSION/bin"
TRAEFIK_BIN="$LAB_CACHE/traefik-$TRAEFIK_VERSION/bin"
PROMETHEUS_OPERATOR_BIN="$LAB_CACHE/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION/bin"
PROMETHEUS_BIN="$LAB_CACHE/prometheus-$PROMETHEUS_VERSION-web-ui/bin"
ALERTMANAGER_BIN="$LAB_CACHE/alertmanager-$ALERTMANAGER_VERSION/bin"
ARGO_ROLLOUTS_BIN="$LAB_CACHE/argo-rollouts-$ARGO_ROLLOUTS_VERSION/bin"
SIGSTORE_BIN="$LAB_CACHE/sigstore-policy-controller-$POLICY_CONTROLLER_VERSION-cosign-$LAB_COSIGN_VERSION/bin"
# The node's add-ons and the pod sandbox program, one folder for the set of versions.
NODE_BIN="$LAB_CACHE/node-coredns-$LAB_COREDNS_VERSION-kube-router-$LAB_KUBE_ROUTER_VERSION-metrics-server-$LAB_METRICS_SERVER_VERSION-crictl-$LAB_CRI_TOOLS_VERSION/bin"

# The node stage (lab/scripts/node.sh): on by default, LAB_NODE=0 runs the control plane alone.
LAB_NODE="${LAB_NODE:-1}"
[[ "$LAB_NODE" =~ ^[01]$ ]] || { echo "[lab] ERROR: LAB_NODE must be 0 or 1, got '$LAB_NODE'" >&2; exit 2; }
# The node's addresses: private ranges on bridges the lab creates, never the machine's own network.
# The node has its IP on LAB_NODE_BRIDGE (the VM offers no dummy devices); pods get theirs from
# LAB_POD_CIDR on LAB_POD_BRIDGE; Services from 10.96.0.0/16, cluster DNS at 10.96.0.10.
LAB_NODE_NAME=lab-node
LAB_NODE_BRIDGE=labnode0
LAB_POD_BRIDGE=labpods0
LAB_POD_CIDR=10.214.0.0/24
LAB_SERVICE_CIDR=10.96.0.0/16
LAB_DNS_IP=10.96.0.10
# The internal ingress controller's Service (lab/scripts/traefik.sh): the address Antaeus's Ingress
# reports and the lab's edge tests connect to.
LAB_INGRESS_IP=10.96.0.20
# The Alertmanager's Service (lab/scripts/monitoring.sh), which Argo CD's notifications controller,
# a process on this machine, posts to.
LAB_ALERTMANAGER_IP=10.96.0.21
if [ "$LAB_NODE" = 1 ]; then LAB_NODE_IP=10.213.0.1; fi

# Loopback ports, away from the services' own 8000/9000 and the usual dev ports. LAB_PORT_OFFSET
# shifts them all, so a second lab (another checkout, another LAB_DIR) can run beside the first.
LAB_PORT_OFFSET="${LAB_PORT_OFFSET:-0}"
[[ "$LAB_PORT_OFFSET" =~ ^[0-9]{1,4}$ ]] && [ "$LAB_PORT_OFFSET" -le 5000 ] ||
  { echo "[lab] ERROR: LAB_PORT_OFFSET must be a whole number from 0 to 5000, got '$LAB_PORT_OFFSET'" >&2; exit 2; }
LAB_ETCD_PORT=$((12379 + LAB_PORT_OFFSET))
LAB_ETCD_PEER_PORT=$((12380 + LAB_PORT_OFFSET))
LAB_APISERVER_PORT=$((16443 + LAB_PORT_OFFSET))
LAB_REDIS_PORT=$((16379 + LAB_PORT_OFFSET))
LAB_GIT_PORT=$((19418 + LAB_PORT_OFFSET))
LAB_REPO_SERVER_PORT=$((18081 + LAB_PORT_OFFSET))
LAB_ARGOCD_SERVER_PORT=$((18080 + LAB_PORT_OFFSET))
LAB_ARGOCD_METRICS_PORT=$((18082 + LAB_PORT_OFFSET))
LAB_APPSET_PROBE_PORT=$((18083 + LAB_PORT_OFFSET))
LAB_APPSET_METRICS_PORT=$((18084 + LAB_PORT_OFFSET))
LAB_CONTROLLER_METRICS_PORT=$((18085 + LAB_PORT_OFFSET))
LAB_REPO_METRICS_PORT=$((18086 + LAB_PORT_OFFSET))
LAB_CM_PORT=$((10257 + LAB_PORT_OFFSET))
LAB_SCHEDULER_PORT=$((10259 + LAB_PORT_OFFSET))
LAB_REGISTRY_PORT=$((15000 + LAB_PORT_OFFSET))
# Debian's Redis, standing in for the official image the manifests name (lab/scripts/images.sh).
LAB_REDIS_IMAGE="127.0.0.1:$LAB_REGISTRY_PORT/lab/redis:bookworm"
LAB_KUBELET_PORT=$((10250 + LAB_PORT_OFFSET))
LAB_KUBELET_HEALTHZ_PORT=$((10248 + LAB_PORT_OFFSET))
LAB_PROXY_METRICS_PORT=$((10249 + LAB_PORT_OFFSET))
LAB_PROXY_HEALTHZ_PORT=$((10256 + LAB_PORT_OFFSET))
# policy-controller's webhook (lab/scripts/sigstore.sh): knative serves it, its probes, metrics and
# profiling on every interface; the API server reaches the first on the node's IP. Its webhook and
# probe ports are fixed, LAB_PORT_OFFSET cannot move them: v0.13.1's main copies its options into
# the context before parsing --secure-port (the flag has no effect), and knative's probe port is a
# constant.
LAB_POLICY_WEBHOOK_PORT=8443
LAB_POLICY_PROBES_PORT=8080
LAB_POLICY_METRICS_PORT=$((18087 + LAB_PORT_OFFSET))
LAB_POLICY_PROFILING_PORT=$((18088 + LAB_PORT_OFFSET))
# The on-call webhook's stand-in (lab/scripts/alert-receiver.mjs), on the node's address, where the
# Alertmanager's pod reaches it; what it received is in .lab/alerts.jsonl.
LAB_ALERT_RECEIVER_PORT=$((18089 + LAB_PORT_OFFSET))
LAB_NOTIFICATIONS_METRICS_PORT=$((18090 + LAB_PORT_OFFSET))

_lab_t0=$(date +%s)

lab_log() { printf '[lab %4ss] %s\n' "$(($(date +%s) - _lab_t0))" "$*"; }

# module_dir <module@version>: the module's directory in the Go module cache (downloaded when
# missing); fails the lab, naming the module, when the proxy has no such version.
module_dir() {
  local dir
  dir="$(GOFLAGS=-mod=mod go mod download -json "$1" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')"
  [ -n "$dir" ] || lab_fail "go mod download $1 failed"
  echo "$dir"
}

lab_fail() {
  printf '[lab] ERROR: %s\n' "$*" >&2
  exit 1
}

# step <name> <log file> <command...>: runs the command with its output in the log file.
step() {
  local name="$1" logfile="$2"
  shift 2
  mkdir -p "$(dirname "$logfile")"
  local start
  start=$(date +%s)
  lab_log "$name ..."
  if "$@" >>"$logfile" 2>&1; then
    lab_log "$name done in $(($(date +%s) - start))s"
  else
    local rc=$?
    printf '[lab] ERROR: step "%s" failed (exit %s)\n  command: %s\n  log: %s\n--- last lines of the log ---\n' \
      "$name" "$rc" "$*" "$logfile" >&2
    tail -n 25 "$logfile" >&2
    exit "$rc"
  fi
}

# wait_for <what> <seconds> <command...>: polls until the command succeeds.
wait_for() {
  local what="$1" seconds="$2"
  shift 2
  local deadline=$(($(date +%s) + seconds))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The delivery tool (packages/delivery) of this checkout, answering about the checkout in the
# current directory: catalogue queries, bump, promote.
delivery() { node "$LAB_ROOT/packages/delivery/bin/delivery.js" "$@"; }

# binary_image <file> [folder]: an image of one static binary alone, at /<name> (or
# <folder>/<name>, for a program whose pods name that path, e.g. /bin), pushed to the lab's
# registry as lab/<name>:<first 12 hex of its sha256>; prints that reference. Needs
# .lab/images.env sourced (images.sh engine writes it).
binary_image() {
  local file="$1" folder="${2:-}" name context tag
  name="$(basename "$file")"
  tag="$LAB_REGISTRY/lab/$name:$(sha256sum "$file" | cut -c1-12)"
  context="$(mktemp -d)"
  cp "$file" "$context/$name"
  printf 'FROM scratch\nCOPY %s %s/%s\nENTRYPOINT ["%s/%s"]\n' "$name" "$folder" "$name" "$folder" "$name" >"$context/Dockerfile"
  "$LAB_DOCKER" build -q -t "$tag" "$context" >/dev/null && "$LAB_DOCKER" push -q "$tag" >/dev/null
  rm -rf "$context"
  echo "$tag"
}
