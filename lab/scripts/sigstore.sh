#!/usr/bin/env bash
# Image signatures verified at admission, in the lab: Sigstore's policy-controller webhook runs as
# a lab process (outside the cluster, like the other controllers), every image the lab pushes is
# signed with a lab key pair, and a key-based ClusterImagePolicy admits only those in the team
# namespaces. Real clusters use the keyless policies of deploy/platform/admission instead: they
# need the public Fulcio and Rekor, which this machine cannot reach.
#
#   sigstore.sh start              key pair, webhook, ClusterImagePolicy (needs the control plane and the node)
#   sigstore.sh sign <image@digest>  signs one pushed image with the lab key (images.sh calls it)
#   sigstore.sh enforce <namespace...>  opts namespaces in (policy.sigstore.dev/include=true)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=pki.sh
. "$LAB_ROOT/lab/scripts/pki.sh"
# shellcheck source-path=SCRIPTDIR source=processes.sh
. "$LAB_ROOT/lab/scripts/processes.sh"

SIGSTORE_DIR="$LAB_DIR/sigstore"
# policy-controller's own install namespace and the names its webhook reconciles.
SYSTEM_NS=cosign-system
POLICY=lab-registry-signed

# cosign with its state (TUF cache, config) inside the lab, never in $HOME.
cosign() { HOME="$SIGSTORE_DIR/home" TUF_ROOT="$SIGSTORE_DIR/tuf" "$SIGSTORE_BIN/cosign" "$@"; }

# The lab's key pair, made once per lab under .lab/sigstore (removed by lab:down, never committed).
make_keys() {
  [ -f "$SIGSTORE_DIR/cosign.key" ] && return 0
  mkdir -p "$SIGSTORE_DIR/home"
  openssl rand -hex 16 >"$SIGSTORE_DIR/password"
  (cd "$SIGSTORE_DIR" && COSIGN_PASSWORD="$(cat password)" cosign generate-key-pair --output-key-prefix cosign)
}

# sign <image@digest>. cosign's legacy signature format (a sha256-<digest>.sig tag beside the
# image): policy-controller v0.13.1 verifies a key authority only in that format (its bundle
# verifier is keyless-only). No transparency log: the public Rekor is unreachable, and a key
# authority without a ctlog does not ask for one.
sign() {
  local ref="$1"
  [[ "$ref" == *@sha256:* ]] || lab_fail "sign needs an image by digest (<image>@sha256:<hex>), got '$ref'"
  COSIGN_PASSWORD="$(cat "$SIGSTORE_DIR/password")" cosign sign --key "$SIGSTORE_DIR/cosign.key" --yes \
    --tlog-upload=false --new-bundle-format=false --use-signing-config=false "$ref"
}

# policy-controller's own install (config/ of the module) without its Deployment and Service: the
# webhook runs on the host, so the Service has no selector and its endpoint is the node's IP.
install_policy_controller() {
  local module_dir config
  module_dir="$(module_dir "$POLICY_CONTROLLER_MODULE@$POLICY_CONTROLLER_VERSION")"
  config="$module_dir/config"
  kubectl apply --server-side --force-conflicts -f "$config/100-namespace.yaml"
  local file
  for file in 200-serviceaccount 200-role 200-clusterrole 201-rolebinding 201-clusterrolebinding \
    300-clusterimagepolicy 300-trustroot 500-webhook-configuration 501-policy-webhook-configurations \
    config-observability config-logging config-leader-election config-image-policies config-sigstore-keys \
    config-policy-controller; do
    kubectl apply --server-side --force-conflicts -f "$config/$file.yaml"
  done
  # An image no policy matches is refused, as deploy/platform/admission describes for real clusters.
  kubectl -n "$SYSTEM_NS" patch configmap config-policy-controller --type merge -p '{"data":{"no-match-policy":"deny"}}'
  kubectl apply -f - <<YAML
apiVersion: v1
kind: Service
metadata: { name: webhook, namespace: $SYSTEM_NS }
spec:
  ports: [{ port: 443, targetPort: $LAB_POLICY_WEBHOOK_PORT }]
---
apiVersion: v1
kind: Endpoints
metadata: { name: webhook, namespace: $SYSTEM_NS }
subsets: [{ addresses: [{ ip: $LAB_NODE_IP }], ports: [{ port: $LAB_POLICY_WEBHOOK_PORT }] }]
YAML
  # The serving certificate, from the lab's CA. policy-controller's certificate controller keeps a
  # valid one and writes its CA into the webhook configurations it reconciles.
  local pki="$LAB_DIR/pki" name="webhook.$SYSTEM_NS.svc"
  [ -f "$pki/policy-webhook.crt" ] ||
    issue_cert policy-webhook "/CN=$name" "subjectAltName=DNS:$name,DNS:$name.cluster.local
extendedKeyUsage=serverAuth"
  kubectl -n "$SYSTEM_NS" create secret generic webhook-certs --dry-run=client -o yaml \
    --from-file=server-key.pem="$pki/policy-webhook.key" --from-file=server-cert.pem="$pki/policy-webhook.crt" \
    --from-file=ca-cert.pem="$pki/ca.crt" | kubectl apply --server-side --force-conflicts -f -
}

start_webhook() {
  local kubeconfig="$LAB_DIR/policy-controller.kubeconfig" token
  if [ ! -f "$kubeconfig" ]; then
    # Its install ServiceAccount's token: the webhook has exactly the RBAC the upstream install grants.
    token="$(kubectl -n "$SYSTEM_NS" create token webhook --duration 48h)"
    KUBECONFIG_NAMESPACE="$SYSTEM_NS" kubeconfig "$kubeconfig" --token="$token"
  fi
  mkdir -p "$SIGSTORE_DIR/webhook-home"
  # The environment upstream's Deployment gives it; --disable-tuf: no public Sigstore TUF
  # repository is reachable, and a key authority needs none. knative serves webhook (TLS with the
  # lab CA), probes, metrics and profiling on every interface: it has no bind address.
  SYSTEM_NAMESPACE="$SYSTEM_NS" CONFIG_LOGGING_NAME=config-logging METRICS_DOMAIN=sigstore.dev/policy \
    WEBHOOK_NAME=webhook KUBERNETES_MIN_VERSION=1.21.0 HOME="$SIGSTORE_DIR/webhook-home" \
    METRICS_PROMETHEUS_PORT="$LAB_POLICY_METRICS_PORT" PROFILING_PORT="$LAB_POLICY_PROFILING_PORT" \
    KUBECONFIG="$kubeconfig" \
    start_process policy-controller "$SIGSTORE_BIN/policy-controller-webhook" --disable-tuf
  wait_for policy-controller 60 port_open "$LAB_POLICY_WEBHOOK_PORT" ||
    lab_fail "policy-controller did not listen on $LAB_POLICY_WEBHOOK_PORT (log: $LAB_LOGS/policy-controller.log)"
}

# The lab's policy: every image of the lab's registry signed by the lab key. Applied through the
# webhook's own validation, so it is retried until the webhook answers.
apply_policy() {
  local policy="$SIGSTORE_DIR/cluster-image-policy.yaml"
  {
    cat <<YAML
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata:
  name: $POLICY
spec:
  mode: enforce
  images:
    - glob: 127.0.0.1:$LAB_REGISTRY_PORT/**
  authorities:
    - name: lab-signing-key
      key:
        data: |
YAML
    sed 's/^/          /' "$SIGSTORE_DIR/cosign.pub"
  } >"$policy"
  wait_for "the ClusterImagePolicy (through the webhook)" 60 kubectl apply -f "$policy"
  # The webhook enforces what its reconciler compiled into this ConfigMap.
  wait_for "$POLICY compiled into config-image-policies" 60 policy_compiled
}
policy_compiled() {
  kubectl -n "$SYSTEM_NS" get configmap config-image-policies -o jsonpath='{.data}' | grep -q "\"$POLICY\""
}

main() {
  case "${1:-}" in
    start)
      [ "$LAB_NODE" = 1 ] || lab_fail "signature admission needs the node (the registry and its images)"
      make_keys
      install_policy_controller
      start_webhook
      apply_policy
      ;;
    sign)
      [ $# -eq 2 ] || lab_fail "usage: sigstore.sh sign <image@sha256:digest>"
      sign "$2"
      ;;
    enforce)
      shift
      kubectl label namespace --overwrite "$@" policy.sigstore.dev/include=true
      ;;
    *) lab_fail "usage: sigstore.sh start | sign <image@digest> | enforce <namespace...>" ;;
  esac
}

main "$@"
