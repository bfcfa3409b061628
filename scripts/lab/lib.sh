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

# shellcheck source=SCRIPTDIR/../tools.versions
. "$LAB_ROOT/scripts/tools.versions"

K8S_BIN="$LAB_CACHE/kubernetes-$LAB_KUBERNETES_VERSION/bin"
ETCD_BIN="$LAB_CACHE/etcd-$LAB_ETCD_VERSION/bin"
ARGOCD_HOME="$LAB_CACHE/argocd-$ARGO_CD_VERSION"
ARGOCD_BIN="$ARGOCD_HOME/bin"
REGISTRY_BIN="$LAB_CACHE/registry-$LAB_REGISTRY_VERSION/bin"

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

_lab_t0=$(date +%s)

lab_log() { printf '[lab %4ss] %s\n' "$(($(date +%s) - _lab_t0))" "$*"; }

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
