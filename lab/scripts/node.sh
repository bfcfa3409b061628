#!/usr/bin/env bash
# The lab's node: a real kubelet running pods with Debian's containerd, runc and CNI plugins,
# kube-proxy for Services and NodePorts, kube-router enforcing NetworkPolicy, and CoreDNS and
# metrics-server as pods. Everything it creates lives in .lab/node and on two bridges in private
# ranges; `stop` takes all of it away again.
#
#   node.sh network   the node's bridge and IP (up.sh runs it before the API server advertises it)
#   node.sh start     the rest; returns when the node is Ready and its add-ons are Available
#   node.sh stop      stops it and removes its pods, mounts, bridges and iptables rules
#
# Needs root and the Debian packages containerd, runc, containernetworking-plugins, iptables,
# ipset, conntrack and socat. Facts behind the settings (cgroup v1, no CAP_SYS_RESOURCE, no dummy
# devices) are in lab/README.md.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=processes.sh
. "$LAB_ROOT/lab/scripts/processes.sh"
# shellcheck source-path=SCRIPTDIR source=pki.sh
. "$LAB_ROOT/lab/scripts/pki.sh"

NODE_DIR="$LAB_DIR/node"
CNI_BIN="${LAB_CNI_BIN:-/usr/lib/cni}"
CONTAINERD_DIR="$NODE_DIR/containerd"
CONTAINERD_SOCKET="$CONTAINERD_DIR/containerd.sock"
REGISTRY="127.0.0.1:$LAB_REGISTRY_PORT"
crictl() { "$NODE_BIN/crictl" --runtime-endpoint "unix://$CONTAINERD_SOCKET" --timeout 30s "$@"; }

require_node_tools() {
  [ "$(id -u)" -eq 0 ] || lab_fail "the lab's node runs containerd and a kubelet: it needs root (LAB_NODE=0 skips the node)"
  local missing=() tool
  for tool in containerd containerd-shim-runc-v2 runc ip iptables ipset conntrack socat; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  for tool in bridge host-local portmap firewall loopback; do [ -x "$CNI_BIN/$tool" ] || missing+=("$CNI_BIN/$tool"); done
  [ ${#missing[@]} -eq 0 ] || lab_fail "missing for the node: ${missing[*]} (Debian: apt-get install containerd runc" \
    "containernetworking-plugins iptables ipset conntrack socat; LAB_NODE=0 skips the node)"
}

# The node's bridges, addresses and iptables chains are the machine's, not one checkout's: the
# lab whose LAB_DIR this file names holds them, and another checkout's lab:up or lab:down leaves
# them alone (LAB_PORT_OFFSET separates the ports, not the node).
NODE_OWNER_FILE=/run/payments-lab-node.owner
node_owner() { cat "$NODE_OWNER_FILE" 2>/dev/null || true; }
# Whether the lab in the LAB_DIR given still runs its node (its kubelet or containerd is alive).
node_alive_in() {
  local pid name
  for name in kubelet containerd; do
    pid="$(cat "$1/pids/$name.pid" 2>/dev/null)" && kill -0 "$pid" 2>/dev/null && return 0
  done
  return 1
}

# The node's IP lives on a bridge of its own: this VM cannot create dummy devices.
node_network() {
  local owner
  owner="$(node_owner)"
  if [ -n "$owner" ] && [ "$owner" != "$LAB_DIR" ] && node_alive_in "$owner"; then
    lab_fail "the lab node (bridges $LAB_NODE_BRIDGE, $LAB_POD_BRIDGE) is held by the lab in $owner: npm run lab:down there first, or LAB_NODE=0"
  fi
  printf '%s\n' "$LAB_DIR" >"$NODE_OWNER_FILE"
  ip link show "$LAB_NODE_BRIDGE" >/dev/null 2>&1 || ip link add name "$LAB_NODE_BRIDGE" type bridge
  ip addr replace "$LAB_NODE_IP/24" dev "$LAB_NODE_BRIDGE"
  ip link set "$LAB_NODE_BRIDGE" up
}

node_pki() {
  local client='extendedKeyUsage=clientAuth'
  [ -f "$LAB_DIR/pki/kubelet.crt" ] && return 0
  issue_cert kubelet-client "/O=system:nodes/CN=system:node:$LAB_NODE_NAME" "$client"
  issue_cert kubelet "/CN=$LAB_NODE_NAME" "subjectAltName=IP:$LAB_NODE_IP,DNS:$LAB_NODE_NAME
extendedKeyUsage=serverAuth"
  issue_cert kube-proxy '/CN=system:kube-proxy' "$client"
  issue_cert kube-router '/CN=lab:kube-router' "$client"
  client_kubeconfig kubelet-client
  client_kubeconfig kube-proxy
  client_kubeconfig kube-router
}

# --- images: the sandbox and the add-ons, each the static binary alone, in the lab's registry ----

node_images() {
  bash "$LAB_ROOT/lab/scripts/images.sh" engine
  # shellcheck disable=SC1091 # written by images.sh engine
  . "$LAB_DIR/images.env"
  {
    echo "PAUSE_IMAGE=$(binary_image "$NODE_BIN/pause")"
    echo "COREDNS_IMAGE=$(binary_image "$NODE_BIN/coredns")"
    echo "METRICS_SERVER_IMAGE=$(binary_image "$NODE_BIN/metrics-server")"
  } >"$NODE_DIR/images.env"
}

# --- containerd, CNI, kubelet, kube-proxy, kube-router ---------------------------------------------

# write_file <file>: stdin into the file, only when it differs, so a second lab:up leaves the
# files of running processes alone (kube-proxy exits when its configuration file changes).
write_file() {
  local content
  content="$(cat)"
  [ -f "$1" ] && [ "$(cat "$1")" = "$content" ] && return 0
  printf '%s\n' "$content" >"$1"
}

write_configs() {
  local pki="$LAB_DIR/pki" hosts="$CONTAINERD_DIR/certs.d/$REGISTRY"
  # shellcheck disable=SC1091 # written by node_images
  . "$NODE_DIR/images.env"
  mkdir -p "$hosts" "$NODE_DIR/cni" "$NODE_DIR/kubelet" "$NODE_DIR/pod-logs"
  # The lab's registry speaks plain HTTP on loopback, as the Docker engine's does.
  write_file "$hosts/hosts.toml" <<EOF
server = "http://$REGISTRY"
[host."http://$REGISTRY"]
  capabilities = ["pull", "resolve"]
EOF
  # restrict_oom_score_adj: the VM withholds CAP_SYS_RESOURCE, and without it every sandbox fails
  # with "can't get final child's PID from pipe".
  write_file "$CONTAINERD_DIR/config.toml" <<EOF
version = 2
root = "$CONTAINERD_DIR/root"
state = "$CONTAINERD_DIR/state"
[grpc]
  address = "$CONTAINERD_SOCKET"
[ttrpc]
  address = "$CONTAINERD_SOCKET.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$CONTAINERD_DIR/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN"
    conf_dir = "$NODE_DIR/cni"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$CONTAINERD_DIR/certs.d"
EOF
  write_file "$NODE_DIR/cni/10-lab-pods.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "lab-pods",
  "plugins": [
    {
      "type": "bridge", "bridge": "$LAB_POD_BRIDGE", "isGateway": true, "ipMasq": true, "hairpinMode": true,
      "ipam": {
        "type": "host-local", "ranges": [[{ "subnet": "$LAB_POD_CIDR" }]], "routes": [{ "dst": "0.0.0.0/0" }],
        "dataDir": "$NODE_DIR/cni-ipam"
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } },
    { "type": "firewall", "backend": "iptables" }
  ]
}
EOF
  # cgroupfs and failCgroupV1: the host has cgroup v1 and no systemd. Eviction thresholds are low
  # because the lab shares its disk with the build caches; the pods' own limits still apply.
  write_file "$NODE_DIR/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $LAB_NODE_IP
port: $LAB_KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $LAB_KUBELET_HEALTHZ_PORT
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $pki/ca.crt }
authorization: { mode: Webhook }
tlsCertFile: $pki/kubelet.crt
tlsPrivateKeyFile: $pki/kubelet.key
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://$CONTAINERD_SOCKET
clusterDomain: cluster.local
clusterDNS: [$LAB_DNS_IP]
resolvConf: ""
podLogsDir: $NODE_DIR/pod-logs
serializeImagePulls: false
evictionHard: { memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1% }
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
EOF
  # NodePorts only on the node's IP, never on the machine's own interfaces; conntrack as it is.
  write_file "$NODE_DIR/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: { kubeconfig: $LAB_DIR/kube-proxy.kubeconfig }
hostnameOverride: $LAB_NODE_NAME
mode: iptables
clusterCIDR: $LAB_POD_CIDR
healthzBindAddress: 127.0.0.1:$LAB_PROXY_HEALTHZ_PORT
metricsBindAddress: 127.0.0.1:$LAB_PROXY_METRICS_PORT
nodePortAddresses: [$LAB_NODE_IP/32]
iptables: { localhostNodePorts: false }
conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s }
EOF
}

node_ready() {
  [ "$(kubectl get node "$LAB_NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}

start_node() {
  start_process containerd containerd --config "$CONTAINERD_DIR/config.toml"
  wait_for containerd 30 crictl info || lab_fail "containerd did not answer on $CONTAINERD_SOCKET (log: $LAB_LOGS/containerd.log)"
  # Pods reach the API server through the kubernetes Service, whose endpoint the API server
  # advertises as the node's IP: forward that to its loopback listener.
  start_process apiserver-proxy socat "TCP-LISTEN:$LAB_APISERVER_PORT,bind=$LAB_NODE_IP,reuseaddr,fork" \
    "TCP:127.0.0.1:$LAB_APISERVER_PORT"
  start_process kubelet "$K8S_BIN/kubelet" --config "$NODE_DIR/kubelet.yaml" \
    --kubeconfig "$LAB_DIR/kubelet-client.kubeconfig" --hostname-override "$LAB_NODE_NAME" \
    --node-ip "$LAB_NODE_IP" --root-dir "$NODE_DIR/kubelet" --v 1
  wait_for "node registered" 60 kubectl get node "$LAB_NODE_NAME" ||
    lab_fail "the kubelet did not register $LAB_NODE_NAME (log: $LAB_LOGS/kubelet.log)"
  # The pod range the CNI config hands out, recorded on the node for kube-proxy and kube-router.
  [ -n "$(kubectl get node "$LAB_NODE_NAME" -o jsonpath='{.spec.podCIDR}')" ] ||
    kubectl patch node "$LAB_NODE_NAME" -p "{\"spec\":{\"podCIDR\":\"$LAB_POD_CIDR\",\"podCIDRs\":[\"$LAB_POD_CIDR\"]}}" >/dev/null
  start_process kube-proxy "$K8S_BIN/kube-proxy" --config "$NODE_DIR/kube-proxy.yaml"
  # Firewall only: kube-proxy does Services, the CNI bridge does routing. Its health and metrics
  # listeners would bind every interface, so both stay off.
  start_process kube-router "$NODE_BIN/kube-router" --kubeconfig "$LAB_DIR/kube-router.kubeconfig" \
    --hostname-override "$LAB_NODE_NAME" --run-firewall=true --run-router=false --run-service-proxy=false \
    --enable-cni=false --health-port 0 --metrics-port 0
  wait_for "node Ready" 90 node_ready || lab_fail "$LAB_NODE_NAME did not become Ready (log: $LAB_LOGS/kubelet.log)"
}

apply_addons() {
  # shellcheck disable=SC1091 # written by node_images
  . "$NODE_DIR/images.env"
  sed -e "s#\${COREDNS_IMAGE}#$COREDNS_IMAGE#; s#\${METRICS_SERVER_IMAGE}#$METRICS_SERVER_IMAGE#" \
    "$LAB_ROOT/lab/scripts/node/addons.yaml" | kubectl apply -f - >/dev/null
  kubectl -n kube-system rollout status deployment/coredns --timeout 120s
  kubectl -n kube-system rollout status deployment/metrics-server --timeout 120s
}

start() {
  require_node_tools
  mkdir -p "$NODE_DIR"
  node_network
  step "node: certificates" "$LAB_LOGS/node.log" node_pki
  step "node: pause, CoreDNS and metrics-server images" "$LAB_LOGS/node.log" node_images
  write_configs
  lab_log "node: containerd, kubelet, kube-proxy, kube-router ..."
  start_node
  lab_log "node $LAB_NODE_NAME Ready at $LAB_NODE_IP"
  step "node: CoreDNS and metrics-server Available" "$LAB_LOGS/node.log" apply_addons
}

# --- stop -------------------------------------------------------------------------------------------

# delete_chains <table> <prefix>: every rule that jumps to a chain named <prefix>*, then the chains.
delete_chains() {
  local table="$1" prefix="$2" rule chain
  iptables-save -t "$table" | { grep -E "^-A .* -j $prefix" || true; } | sed 's/^-A/-D/' | while read -r rule; do
    # eval: iptables-save quotes comments ("name: ... id: ...") the way a shell reads them.
    eval "iptables -t $table $rule" 2>/dev/null || true
  done
  for chain in $(iptables-save -t "$table" | sed -n "s/^:\(${prefix}[^ ]*\) .*/\1/p"); do
    iptables -t "$table" -F "$chain" 2>/dev/null || true
  done
  for chain in $(iptables-save -t "$table" | sed -n "s/^:\(${prefix}[^ ]*\) .*/\1/p"); do
    iptables -t "$table" -X "$chain" 2>/dev/null || true
  done
}

stop() {
  # The kubelet first, so nothing restarts; then every pod through the CRI, which tears down its
  # network (CNI DEL) and mounts; then the runtime and whatever shim outlived it.
  stop_process kubelet
  if running_pid containerd >/dev/null; then
    crictl rmp --all --force >/dev/null 2>&1 || true
  fi
  stop_process containerd
  pkill -KILL -f -- "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCKET" 2>/dev/null || true
  stop_process kube-router
  stop_process kube-proxy
  stop_process apiserver-proxy
  local owner
  owner="$(node_owner)"
  if [ -n "$owner" ] && [ "$owner" != "$LAB_DIR" ]; then
    lab_log "node: the bridges and iptables chains belong to the lab in $owner: left alone"
    return 0
  fi
  # What the CNI plugins, kube-proxy, kube-router and the kubelet left in iptables (KUBE-*, CNI-*),
  # then kube-router's ipsets. `kube-router --cleanup-config` leaves its chains here and then
  # panics in its IPVS cleanup, so the lab removes them itself.
  local table prefix
  for table in filter nat mangle; do
    for prefix in CNI- KUBE-; do delete_chains "$table" "$prefix"; done
  done
  ipset list -n 2>/dev/null | grep '^KUBE-' | xargs -r -n1 ipset destroy 2>/dev/null || true
  if [ -d "$NODE_DIR" ]; then
    findmnt -rn -o TARGET | grep "^$NODE_DIR/" | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  fi
  local bridge
  for bridge in "$LAB_POD_BRIDGE" "$LAB_NODE_BRIDGE"; do
    ip link delete "$bridge" 2>/dev/null || true
    ! ip link show "$bridge" >/dev/null 2>&1 || lab_fail "could not delete the bridge $bridge"
  done
  rm -f "$NODE_OWNER_FILE"
}

case "${1:-}" in
  network) node_network ;;
  start) start ;;
  stop) stop ;;
  *)
    echo "usage: lab/scripts/node.sh network|start|stop" >&2
    exit 2
    ;;
esac
