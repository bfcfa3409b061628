#!/usr/bin/env bash
# `npm run lab:down`: stops every lab process by its recorded PID, in reverse start order, checks
# that no lab port is still listening, and removes the lab's state (.lab/logs is kept to read).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=processes.sh
. "$LAB_ROOT/lab/scripts/processes.sh"

# The node first (its pods, network and mounts), then the images' engine and registry.
bash "$LAB_ROOT/lab/scripts/node.sh" stop
bash "$LAB_ROOT/lab/scripts/images.sh" stop
# policy-controller and Argo CD first (they talk to the API server), the control plane last.
order=(policy-controller argocd-applicationset-controller argocd-server argocd-application-controller argocd-repo-server redis
  git-daemon kube-scheduler kube-controller-manager kube-apiserver etcd)
for name in "${order[@]}"; do stop_process "$name"; done
# Anything recorded that the list above does not name (a later stage's process).
if [ -d "$LAB_PIDS" ]; then
  for file in "$LAB_PIDS"/*.pid; do
    [ -e "$file" ] && stop_process "$(basename "$file" .pid)"
  done
fi

listening=()
for port in $(lab_ports); do port_open "$port" && listening+=("$port"); done
[ ${#listening[@]} -eq 0 ] || lab_fail "still listening after stopping every recorded process: ${listening[*]}"

find "$LAB_DIR" -mindepth 1 -maxdepth 1 ! -name logs -exec rm -rf {} + 2>/dev/null || true
lab_log "lab down: no lab process or listener left"
