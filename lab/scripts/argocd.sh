# shellcheck shell=bash
# Argo CD in the lab, sourced by up.sh: its CRDs and RBAC from the pinned release's install
# manifest, its five components as processes with their own ServiceAccounts' tokens (restarted when
# they exit, as their Deployments would be), the lab's admin login, and the wait for the
# Applications to sync.

# A kubeconfig that authenticates as one of Argo CD's ServiceAccounts, so the components run with
# exactly the RBAC the official install grants them.
argocd_kubeconfig() {
  local account="$1" token
  token="$(kubectl -n "$ARGOCD_NS" create token "$account" --duration 48h)"
  KUBECONFIG_NAMESPACE="$ARGOCD_NS" kubeconfig "$LAB_DIR/$account.kubeconfig" --token="$token"
}

install_argocd() {
  local module_dir
  module_dir="$(GOTOOLCHAIN="$ARGO_CD_GO_TOOLCHAIN" module_dir "$ARGO_CD_MODULE@$ARGO_CD_VERSION")"
  node "$LAB_ROOT/lab/scripts/argocd-install.mjs" "$module_dir/manifests/install.yaml" >"$LAB_DIR/argocd-install.yaml"
  kubectl get namespace "$ARGOCD_NS" >/dev/null 2>&1 || kubectl create namespace "$ARGOCD_NS"
  kubectl apply -n "$ARGOCD_NS" --server-side --force-conflicts -f "$LAB_DIR/argocd-install.yaml"
  # A CRD just created has no status yet, which `kubectl wait` reports as an error: retry.
  wait_for "Argo CD's CRDs established" 60 kubectl wait --for condition=established --timeout=5s \
    crd/applications.argoproj.io crd/appprojects.argoproj.io crd/applicationsets.argoproj.io
}

start_argocd() {
  install_argocd >>"$LAB_LOGS/argocd-install.log" 2>&1 ||
    lab_fail "installing Argo CD's CRDs and RBAC failed (log: $LAB_LOGS/argocd-install.log)"
  local account
  for account in argocd-application-controller argocd-server argocd-applicationset-controller argocd-repo-server \
    argocd-notifications-controller; do
    [ -f "$LAB_DIR/$account.kubeconfig" ] || argocd_kubeconfig "$account"
  done
  set_admin_password
  start_process redis redis-server --bind 127.0.0.1 --port "$LAB_REDIS_PORT" --save '' --appendonly no
  local redis="127.0.0.1:$LAB_REDIS_PORT" repo="127.0.0.1:$LAB_REPO_SERVER_PORT"
  mkdir -p "$LAB_DIR/argocd-tmp"
  # The repo server renders with the pinned kustomize and verifies commits with Argo CD's wrapper.
  PATH="$ARGOCD_BIN:$TOOLS_DIR/bin:$PATH" TMPDIR="$LAB_DIR/argocd-tmp" ARGOCD_GPG_ENABLED=false \
    ARGOCD_FAKE_IN_CLUSTER=true KUBECONFIG="$LAB_DIR/argocd-repo-server.kubeconfig" \
    start_restarting_process argocd-repo-server "$ARGOCD_BIN/argocd-repo-server" --address 127.0.0.1 --port "$LAB_REPO_SERVER_PORT" \
    --metrics-address 127.0.0.1 --metrics-port "$LAB_REPO_METRICS_PORT" --redis "$redis" --disable-tls --client-ca-path "" \
    --loglevel warn
  ARGOCD_FAKE_IN_CLUSTER=true KUBECONFIG="$LAB_DIR/argocd-application-controller.kubeconfig" \
    start_restarting_process argocd-application-controller "$ARGOCD_BIN/argocd-application-controller" \
    --repo-server "$repo" --repo-server-plaintext --redis "$redis" --metrics-port "$LAB_CONTROLLER_METRICS_PORT" \
    --app-resync 60 --self-heal-timeout-seconds 2 --loglevel warn
  ARGOCD_FAKE_IN_CLUSTER=true KUBECONFIG="$LAB_DIR/argocd-server.kubeconfig" \
    start_restarting_process argocd-server "$ARGOCD_BIN/argocd-server" --address 127.0.0.1 --port "$LAB_ARGOCD_SERVER_PORT" \
    --metrics-address 127.0.0.1 --metrics-port "$LAB_ARGOCD_METRICS_PORT" --insecure \
    --repo-server "$repo" --repo-server-plaintext --redis "$redis" --dex-server "" --loglevel warn
  ARGOCD_FAKE_IN_CLUSTER=true KUBECONFIG="$LAB_DIR/argocd-applicationset-controller.kubeconfig" \
    start_restarting_process argocd-applicationset-controller "$ARGOCD_BIN/argocd-applicationset-controller" \
    --argocd-repo-server "$repo" --repo-server-plaintext --metrics-addr "127.0.0.1:$LAB_APPSET_METRICS_PORT" \
    --probe-addr "127.0.0.1:$LAB_APPSET_PROBE_PORT" --enable-leader-election=false --loglevel warn
  # Notifications (argocd/platform/argocd-notifications-cm.yaml): the binary dispatches on this name.
  ARGOCD_BINARY_NAME=argocd-notifications ARGOCD_FAKE_IN_CLUSTER=true \
    KUBECONFIG="$LAB_DIR/argocd-notifications-controller.kubeconfig" \
    start_restarting_process argocd-notifications "$ARGOCD_BIN/argocd" --argocd-repo-server "$repo" \
    --argocd-repo-server-plaintext --metrics-port "$LAB_NOTIFICATIONS_METRICS_PORT" --loglevel warn
  wait_for argocd-server 60 curl -fsS "http://127.0.0.1:$LAB_ARGOCD_SERVER_PORT/healthz" ||
    lab_fail "argocd-server did not become healthy (log: $LAB_LOGS/argocd-server.log)"
}

# The lab's UI login: the local admin account, enabled only in the lab's repository (below),
# with a password made for this lab and kept in .lab/env.
set_admin_password() {
  [ -f "$LAB_DIR/admin-password" ] || openssl rand -hex 12 >"$LAB_DIR/admin-password"
  local hash
  hash="$("$ARGOCD_BIN/argocd" account bcrypt --password "$(cat "$LAB_DIR/admin-password")")"
  kubectl -n "$ARGOCD_NS" patch secret argocd-secret --type merge \
    -p "{\"stringData\":{\"admin.password\":\"$hash\",\"admin.passwordMtime\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}}" >/dev/null
}

# A session token for the lab's admin, from Argo CD's login endpoint.
admin_token() {
  curl -fsS -H 'Content-Type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$(cat "$LAB_DIR/admin-password")\"}" \
    "http://127.0.0.1:$LAB_ARGOCD_SERVER_PORT/api/v1/session" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}

# The argocd CLI as the lab's platform admin.
argocd_admin() {
  ARGOCD_SERVER="127.0.0.1:$LAB_ARGOCD_SERVER_PORT" ARGOCD_OPTS=--plaintext ARGOCD_AUTH_TOKEN="$(admin_token)" \
    "$ARGOCD_BIN/argocd" "$@"
}

app_synced() {
  [ "$(kubectl -n "$ARGOCD_NS" get application "$1" -o jsonpath='{.status.sync.status}/{.status.operationState.phase}')" = Synced/Succeeded ]
}

# Every service Application of catalogue.yaml exists (the ApplicationSet controller made them) and
# every Application but prod's is Synced; prod waits for its window or a release-group sync.
wait_for_sync() {
  local deadline=$(($(date +%s) + LAB_WAIT_SECONDS)) pending expected
  expected="$(delivery catalogue applications)"
  while :; do
    local listed
    listed="$(kubectl -n "$ARGOCD_NS" get applications -o jsonpath='{range .items[*]}{.metadata.name}={.status.sync.status}{"\n"}{end}')"
    pending="$(grep -v -- "-$(release_environment)=" <<<"$listed" | grep -v '=Synced$' || true)"
    local missing
    missing="$(comm -23 <(sort <<<"$expected") <(cut -d= -f1 <<<"$listed" | sort))"
    [ -n "$missing" ] && pending="$pending${pending:+$'\n'}not generated yet: $(tr '\n' ' ' <<<"$missing")"
    [ -z "$pending" ] && return 0
    [ "$(date +%s)" -lt "$deadline" ] || {
      printf 'not synced after %ss:\n%s\n' "$LAB_WAIT_SECONDS" "$pending" >&2
      return 1
    }
    sleep 2
  done
}

# Every Application Synced and Healthy, as a person opening the UI after lab:up expects. Health
# settles after the Deployments are Available: a new HorizontalPodAutoscaler counts as Degraded
# until metrics-server has scraped its pods (FailedGetResourceMetric), about half a minute.
unwell_applications() {
  kubectl -n "$ARGOCD_NS" get applications \
    -o jsonpath='{range .items[*]}{.metadata.name}={.status.sync.status}/{.status.health.status}{"\n"}{end}' |
    grep -v '=Synced/Healthy$' || true
}
applications_healthy() { [ -z "$(unwell_applications)" ]; }
wait_for_health() {
  wait_for "every Application Synced and Healthy" "$LAB_WAIT_SECONDS" applications_healthy && return 0
  printf 'not Synced and Healthy after %ss:\n%s\n' "$LAB_WAIT_SECONDS" "$(unwell_applications)" >&2
  return 1
}
