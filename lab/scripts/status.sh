#!/usr/bin/env bash
# `npm run lab:status`: which lab processes run, and each Application's sync and health.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=processes.sh
. "$LAB_ROOT/lab/scripts/processes.sh"

if [ ! -d "$LAB_PIDS" ] || [ -z "$(ls -A "$LAB_PIDS" 2>/dev/null)" ]; then
  echo "lab: not running (npm run lab:up starts it)"
  exit 3
fi
stopped=0
for file in "$LAB_PIDS"/*.pid; do
  name="$(basename "$file" .pid)"
  if pid="$(running_pid "$name")"; then
    printf '  %-34s running  pid %s\n' "$name" "$pid"
  else
    printf '  %-34s STOPPED  (log %s)\n' "$name" "$LAB_LOGS/$name.log"
    stopped=1
  fi
done
echo
"$K8S_BIN/kubectl" --kubeconfig="$LAB_DIR/admin.kubeconfig" -n argocd get applications \
  -o custom-columns='APPLICATION:.metadata.name,PROJECT:.spec.project,SYNC:.status.sync.status,HEALTH:.status.health.status,REVISION:.status.sync.revision' ||
  stopped=1
if running_pid kubelet >/dev/null; then
  echo
  "$K8S_BIN/kubectl" --kubeconfig="$LAB_DIR/admin.kubeconfig" get pods -A --field-selector metadata.namespace!=argocd \
    -o custom-columns='NAMESPACE:.metadata.namespace,POD:.metadata.name,PHASE:.status.phase,RESTARTS:.status.containerStatuses[0].restartCount,IP:.status.podIP' ||
    stopped=1
fi
exit "$stopped"
