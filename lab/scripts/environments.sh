# shellcheck shell=bash
# The lab's environments, sourced by up.sh: which environment is the release one, their namespaces
# from catalogue.yaml, the Secrets and signature admission each gets, volumes for their claims,
# waiting for their workloads, and prod's manual sync.

# The last environment is the release environment: synced by hand (sync_prod).
non_prod_environments() { delivery catalogue environments | sed '$d'; }
release_environment() { delivery catalogue environments | tail -n 1; }
prod_applications() { delivery catalogue applications | grep -- "-$(release_environment)\$"; }
# The environments as one line of words, for step titles.
environment_list() { tr '\n' ' ' | sed 's/ $//'; }

# Every team namespace of the given environments, one per line.
team_namespaces() {
  local env team
  [ $# -gt 0 ] || { echo "team_namespaces: no environment given" >&2; return 1; }
  for env in "$@"; do
    for team in $(delivery catalogue teams); do delivery catalogue namespace "$team" "$env"; done
  done
}

# Waits until the platform apps of the given environments have made their team namespaces.
wait_for_namespaces() {
  local env
  [ $# -gt 0 ] || { echo "wait_for_namespaces: no environment given" >&2; return 1; }
  for env in "$@"; do
    # shellcheck disable=SC2046 # one word per namespace
    wait_for "the $env namespaces" 180 kubectl get namespace $(team_namespaces "$env") || {
      echo "the platform-$env app did not create the $env namespaces"
      return 1
    }
  done
}

# Signature admission (sigstore.sh) on every team namespace of the given environments, once
# their platform apps have made them.
enforce_signatures() {
  wait_for_namespaces "$@" || return 1
  # shellcheck disable=SC2046 # one word per namespace
  bash "$LAB_ROOT/lab/scripts/sigstore.sh" enforce $(team_namespaces "$@")
}

# The lab has no volume provisioner: each claim that waits for one gets a hostPath volume of its
# size in .lab/node/volumes (static provisioning, bound to that claim). hostPath ignores fsGroup, so
# the folder is writable by every UID: the pods' own non-root users differ (antaeus 10001, redis 999).
bind_pending_claims() {
  local claim namespace name size dir
  for claim in $(kubectl get pvc -A -o jsonpath='{range .items[?(@.status.phase=="Pending")]}{.metadata.namespace}/{.metadata.name}={.spec.resources.requests.storage}{"\n"}{end}'); do
    namespace="${claim%%/*}" && name="${claim#*/}" && size="${name#*=}" && name="${name%=*}"
    dir="$LAB_DIR/node/volumes/$namespace-$name"
    mkdir -p "$dir" && chmod 1777 "$dir"
    kubectl apply -f - <<PV
apiVersion: v1
kind: PersistentVolume
metadata:
  name: lab-$namespace-$name
spec:
  capacity: { storage: $size }
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Delete
  storageClassName: ''
  claimRef: { namespace: $namespace, name: $name }
  hostPath: { path: $dir, type: Directory }
PV
  done
}

has_deployments() { [ -n "$(kubectl -n "$1" get deployment -o name 2>/dev/null)" ]; }

# Every Deployment of every team namespace of the given environments rolled out, and every Rollout
# (a canary's, which takes its pods from a Deployment) Healthy.
wait_for_workloads() {
  local namespace
  for namespace in $(team_namespaces "$@"); do
    wait_for "Deployments in $namespace" 120 has_deployments "$namespace" || return 1
    kubectl -n "$namespace" rollout status deployment --timeout "${LAB_WAIT_SECONDS}s" || return 1
    [ -z "$(kubectl -n "$namespace" get rollouts.argoproj.io -o name 2>/dev/null)" ] ||
      kubectl -n "$namespace" wait rollouts.argoproj.io --all --for=jsonpath='{.status.phase}'=Healthy \
        --timeout "${LAB_WAIT_SECONDS}s" || return 1
  done
}

# Prod, once platform-prod made its namespaces (the README's first-release-sync): its Secrets, then a
# manual sync of each service's prod app, as a release-group member would, with prune (automated
# prod syncs never prune: what a change replaced, such as a generated ConfigMap, goes only by a
# manual sync; on a first start there is nothing to prune). The prod AppProjects'
# window lets automated prod syncs run only on working days 08:00-18:00 Copenhagen time, but allows
# a manual sync at any hour (manualSync: true); inside the window Argo CD may already be syncing an
# app, and that operation is as good as ours, hence the wait on the outcome rather than on the call.
sync_prod() {
  enforce_signatures "$(release_environment)"
  local app
  for app in $(prod_applications); do
    argocd_admin app sync "$app" --async --prune ||
      echo "$app: no new sync started (one already running inside the window?); waiting for its outcome"
  done
  for app in $(prod_applications); do
    wait_for "$app Synced" 180 app_synced "$app" || {
      kubectl -n "$ARGOCD_NS" get application "$app" -o jsonpath='{.status.operationState.message}{"\n"}'
      return 1
    }
  done
}
