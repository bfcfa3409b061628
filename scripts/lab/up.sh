#!/usr/bin/env bash
# `npm run lab:up`: a real Kubernetes control plane and a real Argo CD on 127.0.0.1, bootstrapped
# from a git server on loopback exactly as argocd/README.md tells a user. Idempotent: what already
# runs is reused. Writes .lab/env (source it for kubectl, argocd and the lab's URLs).
#
# Environment: LAB_WAIT_SECONDS (default 240) bounds the wait for the Applications to sync.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=pki.sh
. "$LAB_ROOT/scripts/lab/pki.sh"
# shellcheck source-path=SCRIPTDIR source=processes.sh
. "$LAB_ROOT/scripts/lab/processes.sh"

LAB_WAIT_SECONDS="${LAB_WAIT_SECONDS:-240}"
[[ "$LAB_WAIT_SECONDS" =~ ^[0-9]+$ ]] || lab_fail "LAB_WAIT_SECONDS must be a whole number of seconds, got '$LAB_WAIT_SECONDS'"

ARGOCD_NS=argocd
LAB_GIT_URL="git://127.0.0.1:$LAB_GIT_PORT/payments-gitops.git"
LAB_REPO="$LAB_DIR/repo"
ADMIN_KUBECONFIG="$LAB_DIR/admin.kubeconfig"
kubectl() { "$K8S_BIN/kubectl" --kubeconfig="$ADMIN_KUBECONFIG" "$@"; }

require_host_tools() {
  local missing=() tool
  for tool in openssl git redis-server curl; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  [ ${#missing[@]} -eq 0 ] || lab_fail "missing host tools: ${missing[*]} (Debian: apt-get install openssl git redis-server curl)"
}

start_control_plane() {
  make_pki >>"$LAB_LOGS/pki.log" 2>&1 || lab_fail "making the lab's certificates failed (log: $LAB_LOGS/pki.log)"
  client_kubeconfig admin
  client_kubeconfig controller-manager
  client_kubeconfig scheduler
  local pki="$LAB_DIR/pki"
  start_process etcd "$ETCD_BIN/etcd" --name lab --data-dir "$LAB_DIR/etcd" \
    --listen-client-urls "https://127.0.0.1:$LAB_ETCD_PORT" --advertise-client-urls "https://127.0.0.1:$LAB_ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$LAB_ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$LAB_ETCD_PEER_PORT" \
    --initial-cluster "lab=http://127.0.0.1:$LAB_ETCD_PEER_PORT" --listen-metrics-urls "" \
    --cert-file "$pki/etcd.crt" --key-file "$pki/etcd.key" --client-cert-auth --trusted-ca-file "$pki/ca.crt" \
    --unsafe-no-fsync --quota-backend-bytes 2147483648
  wait_for etcd 30 port_open "$LAB_ETCD_PORT" || lab_fail "etcd did not listen on $LAB_ETCD_PORT (log: $LAB_LOGS/etcd.log)"

  # Default admission plugins (PodSecurity among them) and RBAC, as on a real cluster.
  # With a node, pods reach the API server as the kubernetes Service, whose endpoint is the node's
  # IP (node.sh forwards it to loopback); without one no endpoint is needed, and 127.0.0.1 is not allowed.
  local advertise=(--advertise-address 127.0.0.1 --endpoint-reconciler-type none)
  [ "$LAB_NODE" = 0 ] || advertise=(--advertise-address "$LAB_NODE_IP" --endpoint-reconciler-type lease)
  start_process kube-apiserver "$K8S_BIN/kube-apiserver" --bind-address 127.0.0.1 --secure-port "$LAB_APISERVER_PORT" \
    "${advertise[@]}" \
    --etcd-servers "https://127.0.0.1:$LAB_ETCD_PORT" --etcd-cafile "$pki/ca.crt" \
    --etcd-certfile "$pki/apiserver-etcd-client.crt" --etcd-keyfile "$pki/apiserver-etcd-client.key" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" --client-ca-file "$pki/ca.crt" \
    --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$pki/sa.pub" \
    --service-account-signing-key-file "$pki/sa.key" --service-account-max-token-expiration 48h \
    --service-cluster-ip-range "$LAB_SERVICE_CIDR" --authorization-mode Node,RBAC --allow-privileged=true \
    --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$pki/ca.crt" --kubelet-preferred-address-types InternalIP \
    --requestheader-client-ca-file "$pki/ca.crt" --requestheader-allowed-names front-proxy-client \
    --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
    --requestheader-extra-headers-prefix X-Remote-Extra- --enable-aggregator-routing=true \
    --proxy-client-cert-file "$pki/front-proxy-client.crt" --proxy-client-key-file "$pki/front-proxy-client.key" \
    --profiling=false
  wait_for kube-apiserver 60 kubectl get --raw /readyz ||
    lab_fail "the API server did not become ready (log: $LAB_LOGS/kube-apiserver.log)"

  start_process kube-controller-manager "$K8S_BIN/kube-controller-manager" \
    --kubeconfig "$LAB_DIR/controller-manager.kubeconfig" --authentication-kubeconfig "$LAB_DIR/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$LAB_DIR/controller-manager.kubeconfig" --bind-address 127.0.0.1 --secure-port "$LAB_CM_PORT" \
    --leader-elect=false --use-service-account-credentials --service-account-private-key-file "$pki/sa.key" \
    --root-ca-file "$pki/ca.crt" --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
    --service-cluster-ip-range "$LAB_SERVICE_CIDR" --profiling=false
  start_process kube-scheduler "$K8S_BIN/kube-scheduler" --kubeconfig "$LAB_DIR/scheduler.kubeconfig" \
    --authentication-kubeconfig "$LAB_DIR/scheduler.kubeconfig" --authorization-kubeconfig "$LAB_DIR/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$LAB_SCHEDULER_PORT" --leader-elect=false --profiling=false
  # The controller manager creates each namespace's default ServiceAccount: Pods need it.
  wait_for "default ServiceAccount" 60 kubectl -n default get serviceaccount default ||
    lab_fail "the controller manager did not create the default ServiceAccount (log: $LAB_LOGS/kube-controller-manager.log)"
}

# The repository Argo CD watches: a bare repository served by git daemon, and LAB_REPO, a working
# clone of this checkout's HEAD to commit and push in.
start_git_server() {
  if [ ! -d "$LAB_DIR/git/payments-gitops.git" ]; then
    mkdir -p "$LAB_DIR/git"
    git init -q --bare -b main "$LAB_DIR/git/payments-gitops.git"
    git -C "$LAB_DIR/git/payments-gitops.git" config receive.denyNonFastForwards false
    rm -rf "$LAB_REPO"
    git clone -q --no-hardlinks "$LAB_ROOT" "$LAB_REPO"
    git -C "$LAB_REPO" checkout -q -B main
    git -C "$LAB_REPO" remote set-url origin "$LAB_GIT_URL"
    git -C "$LAB_REPO" config user.name "Lab user"
    git -C "$LAB_REPO" config user.email "lab@localhost"
    # The delivery scripts read catalogue.yaml with this checkout's installed packages, as they
    # would after npm ci in the clone (a symlink, excluded locally: never committed).
    ln -s "$LAB_ROOT/node_modules" "$LAB_REPO/node_modules"
    echo /node_modules >>"$LAB_REPO/.git/info/exclude"
  fi
  start_process git-daemon git daemon --reuseaddr --listen=127.0.0.1 --port="$LAB_GIT_PORT" \
    --base-path="$LAB_DIR/git" --export-all --enable=receive-pack "$LAB_DIR/git"
  wait_for "git daemon" 20 port_open "$LAB_GIT_PORT" || lab_fail "git daemon did not listen (log: $LAB_LOGS/git-daemon.log)"
  git -C "$LAB_REPO" push -q origin main
}

# A kubeconfig that authenticates as one of Argo CD's ServiceAccounts, so the components run with
# exactly the RBAC the official install grants them.
argocd_kubeconfig() {
  local account="$1" token
  token="$(kubectl -n "$ARGOCD_NS" create token "$account" --duration 48h)"
  KUBECONFIG_NAMESPACE="$ARGOCD_NS" kubeconfig "$LAB_DIR/$account.kubeconfig" --token="$token"
}

install_argocd() {
  local module_dir
  module_dir="$(GOTOOLCHAIN="$ARGO_CD_GO_TOOLCHAIN" GOFLAGS=-mod=mod go mod download -json "$ARGO_CD_MODULE@$ARGO_CD_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')"
  node "$LAB_ROOT/scripts/lab/argocd-install.mjs" "$module_dir/manifests/install.yaml" >"$LAB_DIR/argocd-install.yaml"
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
  for account in argocd-application-controller argocd-server argocd-applicationset-controller argocd-repo-server; do
    [ -f "$LAB_DIR/$account.kubeconfig" ] || argocd_kubeconfig "$account"
  done
  set_admin_password
  start_process redis redis-server --bind 127.0.0.1 --port "$LAB_REDIS_PORT" --save '' --appendonly no
  local redis="127.0.0.1:$LAB_REDIS_PORT" repo="127.0.0.1:$LAB_REPO_SERVER_PORT"
  mkdir -p "$LAB_DIR/argocd-tmp"
  # The repo server renders with the pinned kustomize and verifies commits with Argo CD's wrapper.
  PATH="$ARGOCD_BIN:$TOOLS_DIR/bin:$PATH" TMPDIR="$LAB_DIR/argocd-tmp" ARGOCD_GPG_ENABLED=false \
    ARGOCD_FAKE_IN_CLUSTER=true KUBECONFIG="$LAB_DIR/argocd-repo-server.kubeconfig" \
    start_process argocd-repo-server "$ARGOCD_BIN/argocd-repo-server" --address 127.0.0.1 --port "$LAB_REPO_SERVER_PORT" \
    --metrics-address 127.0.0.1 --metrics-port "$LAB_REPO_METRICS_PORT" --redis "$redis" --disable-tls --client-ca-path "" \
    --loglevel warn
  ARGOCD_FAKE_IN_CLUSTER=true KUBECONFIG="$LAB_DIR/argocd-application-controller.kubeconfig" \
    start_process argocd-application-controller "$ARGOCD_BIN/argocd-application-controller" \
    --repo-server "$repo" --repo-server-plaintext --redis "$redis" --metrics-port "$LAB_CONTROLLER_METRICS_PORT" \
    --app-resync 60 --self-heal-timeout-seconds 2 --loglevel warn
  ARGOCD_FAKE_IN_CLUSTER=true KUBECONFIG="$LAB_DIR/argocd-server.kubeconfig" \
    start_process argocd-server "$ARGOCD_BIN/argocd-server" --address 127.0.0.1 --port "$LAB_ARGOCD_SERVER_PORT" \
    --metrics-address 127.0.0.1 --metrics-port "$LAB_ARGOCD_METRICS_PORT" --insecure \
    --repo-server "$repo" --repo-server-plaintext --redis "$redis" --dex-server "" --loglevel warn
  ARGOCD_FAKE_IN_CLUSTER=true KUBECONFIG="$LAB_DIR/argocd-applicationset-controller.kubeconfig" \
    start_process argocd-applicationset-controller "$ARGOCD_BIN/argocd-applicationset-controller" \
    --argocd-repo-server "$repo" --repo-server-plaintext --metrics-addr "127.0.0.1:$LAB_APPSET_METRICS_PORT" \
    --probe-addr "127.0.0.1:$LAB_APPSET_PROBE_PORT" --enable-leader-election=false --loglevel warn
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

# The shell block that follows `<!-- lab: NAME -->` in a README: the commands a user runs.
readme_block() {
  awk -v marker="<!-- lab: $2 -->" '
    index($0, marker) { found = 1; next }
    found && /^```/ { if (inside) exit; inside = 1; next }
    inside { print }' "$1"
}

# What a platform admin does before the bootstrap (argocd/README.md), done in the lab's clone:
# adopt the lab's git URL and set argocd-cm for this installation.
prepare_lab_repository() {
  (
    cd "$LAB_REPO"
    scripts/adopt-fork.sh lab/payments-gitops --repo-url "$LAB_GIT_URL"
    local cm=argocd/platform/argocd-cm.yaml
    if ! grep -q "# lab only" "$cm"; then
      if ! grep -q "^  url: " "$cm" || ! grep -q "^  admin.enabled: 'false'" "$cm"; then
        echo "$cm no longer has the url/admin.enabled lines the lab sets"
        exit 1
      fi
    fi
    sed -i "s#^  url: .*#  url: http://127.0.0.1:$LAB_ARGOCD_SERVER_PORT#; s#^  admin.enabled: 'false'#  admin.enabled: 'true' \# lab only#" "$cm"
    # No ingress controller builds here, so no Ingress ever gets an address and Argo CD would keep
    # it Progressing; a sync that waits for health (prod's PruneLast before a prune) would then
    # never end. Lab only: an Ingress counts as Healthy, saying why.
    grep -q "^  resource.customizations.health.networking.k8s.io_Ingress:" "$cm" || cat >>"$cm" <<'CM'
  resource.customizations.health.networking.k8s.io_Ingress: | # lab only
    return { status = "Healthy", message = "lab: no ingress controller publishes an address (scripts/lab/README.md)" }
CM
    git add -A
    git diff --cached --quiet || git commit -qm "lab: adopt the lab's git server; local admin for the lab's UI; Ingress health without a controller"
    git push -q origin main
  )
}

# With the node, the overlays name the lab's registry (in the lab's clone only) and every
# environment runs the images of the lab repository's commit: built, pushed and bumped in dev with
# their digest as release.yml does, then promoted dev -> staging -> prod by scripts/promote.sh
# (what the promotion workflow runs), one commit per promotion. Done once per lab: a second
# lab:up keeps what runs.
release_lab_images() {
  (
    cd "$LAB_REPO"
    # Not `git log | grep -q`: grep's early exit fails git log with SIGPIPE under pipefail.
    ! grep -qx "$LAB_IMAGES_COMMIT" < <(git log --format=%s) || exit 0
    local ghcr service env from sha image_var repo_digest redis_digest
    # shellcheck disable=SC1091 # the lab clone's own, as adopt-fork.sh left it
    ghcr="ghcr.io/$(. scripts/repository.env && tr '[:upper:]' '[:lower:]' <<<"$GITHUB_REPOSITORY")/"
    bash "$LAB_ROOT/scripts/lab/images.sh" redis
    # shellcheck disable=SC1091 # written by images.sh
    . "$LAB_DIR/images.env"
    # Redis by digest as well, as the manifests pin the official image: policy-controller's
    # mutating webhook would otherwise add the digest to the Deployment, which Argo CD then undoes.
    redis_digest="$("$LAB_DOCKER" inspect --format '{{index .RepoDigests 0}}' "$LAB_REDIS_IMAGE")"
    grep -rlF --include='*.yaml' -e "$ghcr" deploy | xargs -r sed -i "s#${ghcr//./\\.}#127.0.0.1:$LAB_REGISTRY_PORT/#g"
    grep -rl --include='*.yaml' -e 'image: docker.io/library/redis:' deploy |
      xargs -r sed -i "s#image: docker.io/library/redis:.*#image: $LAB_REDIS_IMAGE@${redis_digest#*@}#"
    git commit -qam "$LAB_IMAGES_COMMIT"
    bash "$LAB_ROOT/scripts/lab/images.sh" --checkout "$LAB_REPO"
    # shellcheck disable=SC1091 # written by images.sh
    . "$LAB_DIR/images.env"
    sha="$(git rev-parse --short=12 HEAD)"
    for service in $(node scripts/catalogue.mjs services); do
      image_var="LAB_IMAGE_$(tr '[:lower:]-' '[:upper:]_' <<<"$service")"
      repo_digest="$("$LAB_DOCKER" inspect --format '{{index .RepoDigests 0}}' "${!image_var}")"
      BUMP_REQUIRE_DIGEST=true scripts/bump-image.sh --commit --digest "${repo_digest#*@}" "$service" dev "$sha"
      from=dev
      for env in $(node scripts/catalogue.mjs environments | tail -n +2); do
        scripts/promote.sh "$service" "$from" "$env"
        git commit -qam "deploy($env): $service $sha"
        from="$env"
      done
    done
    git push -q origin main
  )
}
LAB_IMAGES_COMMIT="lab: images from the lab's registry"

# The Secrets each environment's services read (never in git), once its namespaces exist.
create_lab_secrets() {
  local env
  for env in "$@"; do
    wait_for "the $env namespaces" 180 kubectl get namespace "payments-$env" "billing-$env" || {
      echo "the platform-$env app did not create the $env namespaces"
      return 1
    }
    KUBECTL="$K8S_BIN/kubectl" KUBECONFIG="$ADMIN_KUBECONFIG" "$LAB_ROOT/scripts/create-secrets.sh" "$env"
  done
}

# Signature admission (sigstore.sh) on every team namespace of the given environments.
enforce_signatures() {
  local env team namespaces=()
  for env in "$@"; do
    for team in $(node "$LAB_ROOT/scripts/catalogue.mjs" teams); do
      namespaces+=("$(node "$LAB_ROOT/scripts/catalogue.mjs" namespace "$team" "$env")")
    done
  done
  bash "$LAB_ROOT/scripts/lab/sigstore.sh" enforce "${namespaces[@]}"
}

non_prod_environments() { node "$LAB_ROOT/scripts/catalogue.mjs" environments | grep -vx prod; }
prod_applications() { node "$LAB_ROOT/scripts/catalogue.mjs" applications | grep -- '-prod$'; }

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

# Every Deployment of every team namespace of the given environments rolled out.
wait_for_workloads() {
  local env team namespace
  for env in "$@"; do
    for team in $(node "$LAB_ROOT/scripts/catalogue.mjs" teams); do
      namespace="$(node "$LAB_ROOT/scripts/catalogue.mjs" namespace "$team" "$env")"
      wait_for "Deployments in $namespace" 120 has_deployments "$namespace" || return 1
      kubectl -n "$namespace" rollout status deployment --timeout "${LAB_WAIT_SECONDS}s" || return 1
    done
  done
}

# A session token for the lab's admin, from Argo CD's login endpoint.
admin_token() {
  curl -fsS -H 'Content-Type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$(cat "$LAB_DIR/admin-password")\"}" \
    "http://127.0.0.1:$LAB_ARGOCD_SERVER_PORT/api/v1/session" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}

# run_readme_block <name>: runs the README's commands in the lab repository, as its user would,
# with kubectl and argocd signed in as the lab's platform admin.
run_readme_block() {
  local name="$1" commands token
  commands="$(readme_block "$LAB_ROOT/argocd/README.md" "$name")"
  [ -n "$commands" ] || lab_fail "argocd/README.md has no '<!-- lab: $name -->' block to run"
  lab_log "$name, as argocd/README.md says:"
  printf '  $ %s\n' "${commands//$'\n'/$'\n  $ '}"
  token="$(admin_token)"
  (cd "$LAB_REPO" && KUBECONFIG="$ADMIN_KUBECONFIG" PATH="$K8S_BIN:$ARGOCD_BIN:$PATH" ARGOCD_SERVER="127.0.0.1:$LAB_ARGOCD_SERVER_PORT" \
    ARGOCD_OPTS=--plaintext ARGOCD_AUTH_TOKEN="$token" bash -euo pipefail -c "$commands") \
    >>"$LAB_LOGS/$name.log" 2>&1 || lab_fail "the README's $name commands failed (log: $LAB_LOGS/$name.log)"
}

# The argocd CLI as the lab's platform admin.
argocd_admin() {
  ARGOCD_SERVER="127.0.0.1:$LAB_ARGOCD_SERVER_PORT" ARGOCD_OPTS=--plaintext ARGOCD_AUTH_TOKEN="$(admin_token)" \
    "$ARGOCD_BIN/argocd" "$@"
}

# Prod, once platform-prod made its namespaces (the README's first-prod-sync): its Secrets, then a
# manual sync of each service's prod app, as a release-group member would, with prune (automated
# prod syncs never prune: what a change replaced, such as a generated ConfigMap, goes only by a
# manual sync; on a first start there is nothing to prune). The prod AppProjects'
# window lets automated prod syncs run only on working days 08:00-18:00 Copenhagen time, but allows
# a manual sync at any hour (manualSync: true); inside the window Argo CD may already be syncing an
# app, and that operation is as good as ours, hence the wait on the outcome rather than on the call.
sync_prod() {
  create_lab_secrets prod
  enforce_signatures prod
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
app_synced() {
  [ "$(kubectl -n "$ARGOCD_NS" get application "$1" -o jsonpath='{.status.sync.status}/{.status.operationState.phase}')" = Synced/Succeeded ]
}

write_env() {
  cat >"$LAB_DIR/env" <<ENV
# Written by npm run lab:up; source it: . .lab/env
export KUBECONFIG=$ADMIN_KUBECONFIG
export PATH=$K8S_BIN:$ARGOCD_BIN:\$PATH
export LAB_REPO=$LAB_REPO
export LAB_GIT_URL=$LAB_GIT_URL
export ARGOCD_URL=http://127.0.0.1:$LAB_ARGOCD_SERVER_PORT
export ARGOCD_SERVER=127.0.0.1:$LAB_ARGOCD_SERVER_PORT
export ARGOCD_OPTS=--plaintext
export ARGOCD_ADMIN_USERNAME=admin
export ARGOCD_ADMIN_PASSWORD=$(cat "$LAB_DIR/admin-password")
ENV
  [ "$LAB_NODE" = 0 ] || ! kubectl -n billing-dev get secret antaeus-api-tokens >/dev/null 2>&1 || cat >>"$LAB_DIR/env" <<ENV
export ANTAEUS_URL=http://$LAB_NODE_IP:30080
export ANTAEUS_TOKEN=$(kubectl -n billing-dev get secret antaeus-api-tokens -o jsonpath='{.data.tokens}' | base64 -d | cut -d, -f1)
ENV
}

# Every service Application of catalogue.yaml exists (the ApplicationSet controller made them) and
# every Application but prod's is Synced; prod waits for its window or a release-group sync.
wait_for_sync() {
  local deadline=$(($(date +%s) + LAB_WAIT_SECONDS)) pending expected
  expected="$(node "$LAB_ROOT/scripts/catalogue.mjs" applications)"
  while :; do
    local listed
    listed="$(kubectl -n "$ARGOCD_NS" get applications -o jsonpath='{range .items[*]}{.metadata.name}={.status.sync.status}{"\n"}{end}')"
    pending="$(grep -v -- '-prod=' <<<"$listed" | grep -v '=Synced$' || true)"
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

# On a fresh start no lab port may be taken: a foreign listener would answer in a lab process's place.
require_free_ports() {
  [ -z "$(ls -A "$LAB_PIDS" 2>/dev/null)" ] || return 0
  local taken=() port
  for port in $(lab_ports); do port_open "$port" && taken+=("$port"); done
  [ ${#taken[@]} -eq 0 ] || lab_fail "ports the lab uses are taken by another program: ${taken[*]} (ss -ltnp shows which)"
}

main() {
  require_host_tools
  require_free_ports
  mkdir -p "$LAB_LOGS" "$LAB_PIDS"
  step "build what is missing" "$LAB_LOGS/build.log" bash "$LAB_ROOT/scripts/lab/build.sh"
  step "pinned tools (kustomize for the repo server)" "$LAB_LOGS/tools.log" bash "$LAB_ROOT/scripts/install-tools.sh"
  [ "$LAB_NODE" = 0 ] || bash "$LAB_ROOT/scripts/lab/node.sh" network
  lab_log "control plane ..."; start_control_plane; lab_log "control plane ready"
  lab_log "git server ..."; start_git_server; lab_log "git server ready at $LAB_GIT_URL"
  lab_log "Argo CD ..."; start_argocd; lab_log "Argo CD ready at http://127.0.0.1:$LAB_ARGOCD_SERVER_PORT"
  [ "$LAB_NODE" = 0 ] || bash "$LAB_ROOT/scripts/lab/node.sh" start
  [ "$LAB_NODE" = 0 ] || step "signature admission: policy-controller, the lab key, its ClusterImagePolicy" \
    "$LAB_LOGS/sigstore.log" bash "$LAB_ROOT/scripts/lab/sigstore.sh" start
  step "prepare the lab repository (adopt-fork, argocd-cm)" "$LAB_LOGS/bootstrap.log" prepare_lab_repository
  [ "$LAB_NODE" = 0 ] ||
    step "images of the lab repository's commit: built, signed, bumped in dev by digest, promoted to staging and prod" "$LAB_LOGS/bootstrap.log" release_lab_images
  run_readme_block bootstrap
  # shellcheck disable=SC2046 # one word per environment
  [ "$LAB_NODE" = 0 ] || step "Secrets of dev and staging" "$LAB_LOGS/bootstrap.log" create_lab_secrets $(non_prod_environments)
  # shellcheck disable=SC2046 # one word per environment
  [ "$LAB_NODE" = 0 ] || step "signature admission in the dev and staging namespaces" "$LAB_LOGS/sigstore.log" \
    enforce_signatures $(non_prod_environments)
  write_env
  step "every non-prod Application Synced" "$LAB_LOGS/wait.log" wait_for_sync
  if [ "$LAB_NODE" = 1 ]; then
    step "volumes for the claims" "$LAB_LOGS/wait.log" bind_pending_claims
    # shellcheck disable=SC2046 # one word per environment
    step "every dev and staging Deployment Available" "$LAB_LOGS/wait.log" wait_for_workloads $(non_prod_environments)
    write_env
  fi
  run_readme_block first-prod-sync
  if [ "$LAB_NODE" = 1 ]; then
    step "prod: Secrets and a manual sync of each service's prod app" "$LAB_LOGS/prod.log" sync_prod
    step "volumes for prod's claims" "$LAB_LOGS/prod.log" bind_pending_claims
    step "every prod Deployment Available" "$LAB_LOGS/prod.log" wait_for_workloads prod
  fi
  kubectl -n "$ARGOCD_NS" get applications
  lab_log "lab up: . $LAB_DIR/env   (UI: http://127.0.0.1:$LAB_ARGOCD_SERVER_PORT, user admin, password in .lab/env)"
}

[[ "${BASH_SOURCE[0]}" != "$0" ]] || main "$@"
