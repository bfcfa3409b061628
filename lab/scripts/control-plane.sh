# shellcheck shell=bash
# The lab's Kubernetes control plane, sourced by up.sh: etcd, the API server, the controller
# manager and the scheduler, each a process on loopback with the certificates of pki.sh.

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
