# The lab's processes (sourced): each is started detached with its output in .lab/logs/<name>.log
# and its PID in .lab/pids/<name>.pid, which is how status and down find it again.
# shellcheck shell=bash

# The PID of a running lab process, or nothing.
running_pid() {
  local file="$LAB_PIDS/$1.pid" pid
  [ -f "$file" ] || return 1
  pid="$(cat "$file")"
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

# start_process <name> <command...>: starts it unless it already runs.
start_process() {
  local name="$1"
  shift
  if running_pid "$name" >/dev/null; then
    lab_log "$name already running (pid $(running_pid "$name"))"
    return 0
  fi
  mkdir -p "$LAB_LOGS" "$LAB_PIDS"
  setsid "$@" >>"$LAB_LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$LAB_PIDS/$name.pid"
  lab_log "$name started (pid $!, log $LAB_LOGS/$name.log)"
}

# start_restarting_process <name> <command...>: as start_process, and started again two seconds
# after it exits, as the kubelet restarts a Deployment's container. Argo CD's components run so:
# an upstream crash (argocd-server 3.6 can panic on a settings change) then costs seconds, not the
# lab. The loop leads the process group, so stop_process ends it with its child.
start_restarting_process() {
  local name="$1"
  shift
  # shellcheck disable=SC2016 # expanded by the loop's own shell
  start_process "$name" bash -c 'while :; do "$@"; echo "lab: exited with status $?, restarting in 2 s" >&2; sleep 2; done' \
    "$name" "$@"
}

# stop_process <name>: TERM, then KILL after 10 seconds; the whole process group goes.
stop_process() {
  local name="$1" pid
  pid="$(running_pid "$name")" || { rm -f "$LAB_PIDS/$name.pid"; return 0; }
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 20); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  rm -f "$LAB_PIDS/$name.pid"
  lab_log "$name stopped (pid $pid)"
}

# Every lab port, for the check that nothing is left listening.
lab_ports() {
  echo "$LAB_ETCD_PORT $LAB_ETCD_PEER_PORT $LAB_APISERVER_PORT $LAB_REDIS_PORT $LAB_GIT_PORT $LAB_REPO_SERVER_PORT" \
    "$LAB_ARGOCD_SERVER_PORT $LAB_ARGOCD_METRICS_PORT $LAB_APPSET_PROBE_PORT $LAB_APPSET_METRICS_PORT" \
    "$LAB_CONTROLLER_METRICS_PORT $LAB_REPO_METRICS_PORT $LAB_CM_PORT $LAB_SCHEDULER_PORT $LAB_REGISTRY_PORT" \
    "$LAB_KUBELET_HEALTHZ_PORT $LAB_PROXY_METRICS_PORT $LAB_PROXY_HEALTHZ_PORT" \
    "$LAB_POLICY_WEBHOOK_PORT $LAB_POLICY_PROBES_PORT $LAB_POLICY_METRICS_PORT $LAB_POLICY_PROFILING_PORT" \
    "$LAB_NOTIFICATIONS_METRICS_PORT"
}
