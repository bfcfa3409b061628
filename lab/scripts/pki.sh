# Certificates for the lab's control plane (sourced by up.sh): one CA, serving certificates for
# etcd and the API server, client certificates for the components and the lab's administrator,
# and the service-account signing key pair. All under .lab/pki, made once per lab.
# shellcheck shell=bash

# issue_cert <name> <subject> <extensions>: a key and a CA-signed certificate.
issue_cert() {
  local name="$1" subject="$2" extensions="$3" dir="$LAB_DIR/pki"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$dir/$name.key" -subj "$subject" -out "$dir/$name.csr"
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 30 \
    -extfile <(printf '%s\n' "$extensions") -out "$dir/$name.crt"
  rm -f "$dir/$name.csr"
}

make_pki() {
  local dir="$LAB_DIR/pki" client='extendedKeyUsage=clientAuth'
  local server_ip="${LAB_NODE_IP:-127.0.0.1}"
  mkdir -p "$dir"
  [ -f "$dir/ca.crt" ] && return 0
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/ca.key" -subj '/CN=payments-lab-ca' -days 30 \
    -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' -out "$dir/ca.crt"
  issue_cert etcd '/CN=etcd' "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth,clientAuth"
  issue_cert apiserver '/CN=kube-apiserver' "subjectAltName=IP:127.0.0.1,IP:$server_ip,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
extendedKeyUsage=serverAuth"
  issue_cert apiserver-etcd-client '/CN=kube-apiserver-etcd-client' "$client"
  issue_cert admin '/O=system:masters/CN=lab-admin' "$client"
  issue_cert controller-manager '/CN=system:kube-controller-manager' "$client"
  issue_cert scheduler '/CN=system:kube-scheduler' "$client"
  # The API server's identities towards kubelets (logs, exec) and aggregated APIs (metrics-server).
  issue_cert apiserver-kubelet-client '/CN=kube-apiserver-kubelet-client' "$client"
  issue_cert front-proxy-client '/CN=front-proxy-client' "$client"
  openssl genrsa -out "$dir/sa.key" 2048
  openssl rsa -in "$dir/sa.key" -pubout -out "$dir/sa.pub"
}

# kubeconfig <file> <user flags...>: a kubeconfig for the lab's API server.
kubeconfig() {
  local file="$1"
  shift
  local k="$K8S_BIN/kubectl --kubeconfig=$file"
  $k config set-cluster lab --server="https://127.0.0.1:$LAB_APISERVER_PORT" \
    --certificate-authority="$LAB_DIR/pki/ca.crt" --embed-certs=true >/dev/null
  $k config set-credentials user "$@" >/dev/null
  $k config set-context lab --cluster=lab --user=user --namespace="${KUBECONFIG_NAMESPACE:-default}" >/dev/null
  $k config use-context lab >/dev/null
}

client_kubeconfig() {
  kubeconfig "$LAB_DIR/$1.kubeconfig" --client-certificate="$LAB_DIR/pki/$1.crt" \
    --client-key="$LAB_DIR/pki/$1.key" --embed-certs=true
}
