#!/usr/bin/env bash
# Monitoring in the lab: the Prometheus Operator (PROMETHEUS_OPERATOR_VERSION), one Prometheus
# (PROMETHEUS_VERSION) and one Alertmanager (ALERTMANAGER_VERSION), built from the pinned releases
# (build.sh prometheus_operator prometheus alertmanager), run as pods in the `monitoring`
# namespace; the Prometheus scrapes every team's ServiceMonitors and evaluates their
# PrometheusRules, the Alertmanager sends what fires to the on-call webhook, here a receiver that
# records it (lab/scripts/monitoring/*.yaml say how, and with which permissions).
#
#   monitoring.sh start   the operator's CRDs, the four images, the operator's pod, the Prometheus,
#                         the Alertmanager and the receiver it delivers to
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=processes.sh
. "$LAB_ROOT/lab/scripts/processes.sh"

NAMESPACE=monitoring
OPERATOR="$PROMETHEUS_OPERATOR_BIN/operator"
RELOADER="$PROMETHEUS_OPERATOR_BIN/prometheus-config-reloader"
PROMETHEUS="$PROMETHEUS_BIN/prometheus"
ALERTMANAGER="$ALERTMANAGER_BIN/alertmanager"

# The kinds the operator's Prometheus and Alertmanager controllers watch, from the module (upstream's files;
# ServiceMonitor and PrometheusRule are the ones deploy/platform/monitoring-crds vendors, so
# platform-monitoring-crds finds them identical). Server-side: the Prometheus CRD is larger than
# the 256 KiB annotation a client-side apply writes. ThanosRuler, PrometheusAgent and ScrapeConfig
# are left out, which turns their controllers off.
crd() {
  local module_dir kind crds=()
  module_dir="$(module_dir "$PROMETHEUS_OPERATOR_MODULE@$PROMETHEUS_OPERATOR_VERSION")"
  for kind in prometheuses servicemonitors podmonitors probes prometheusrules alertmanagers alertmanagerconfigs; do
    crds+=("--filename=$module_dir/example/prometheus-operator-crd/monitoring.coreos.com_$kind.yaml")
  done
  kubectl apply --server-side --force-conflicts "${crds[@]}"
  kubectl wait --for condition=Established --timeout 60s "${crds[@]}"
}

# Every team namespace of every environment in catalogue.yaml, comma-separated: what the operator
# watches (prod's too, which exist only after its first release sync).
team_namespaces() {
  local env team namespaces=()
  for env in $(cd "$LAB_ROOT" && delivery catalogue environments); do
    for team in $(cd "$LAB_ROOT" && delivery catalogue teams); do
      namespaces+=("$(cd "$LAB_ROOT" && delivery catalogue namespace "$team" "$env")")
    done
  done
  [ ${#namespaces[@]} -gt 0 ] || { echo "catalogue.yaml names no team namespace"; return 1; }
  (IFS=,; echo "${namespaces[*]}")
}

start() {
  local binary
  for binary in "$OPERATOR" "$RELOADER" "$PROMETHEUS" "$ALERTMANAGER"; do
    [ -x "$binary" ] || lab_fail "$binary is missing: bash lab/scripts/build.sh prometheus_operator prometheus alertmanager first"
  done
  crd
  bash "$LAB_ROOT/lab/scripts/images.sh" engine
  # shellcheck disable=SC1091 # written by images.sh engine
  . "$LAB_DIR/images.env"
  local namespaces operator reloader prometheus release
  namespaces="$(team_namespaces)"
  # The pods the operator makes run each program by the path upstream's images have (/bin).
  operator="$(binary_image "$OPERATOR")"
  reloader="$(binary_image "$RELOADER" /bin)"
  prometheus="$(binary_image "$PROMETHEUS" /bin)"
  release="v$(cat "$(module_dir "$PROMETHEUS_MODULE@$PROMETHEUS_VERSION")/VERSION")"
  sed -e "s#\${OPERATOR_IMAGE}#$operator#g" -e "s#\${RELOADER_IMAGE}#$reloader#g" \
    -e "s#\${TEAM_NAMESPACES}#$namespaces#g" "$LAB_ROOT/lab/scripts/monitoring/operator.yaml" | kubectl apply -f -
  kubectl -n "$NAMESPACE" rollout status deployment/prometheus-operator --timeout 120s
  sed -e "s#\${PROMETHEUS_IMAGE}#$prometheus#g" -e "s#\${PROMETHEUS_RELEASE}#$release#g" \
    "$LAB_ROOT/lab/scripts/monitoring/prometheus.yaml" | kubectl apply -f -
  # The operator makes the StatefulSet within seconds; its pod is Ready once Prometheus has loaded
  # the generated configuration.
  wait_for "the Prometheus StatefulSet" 60 kubectl -n "$NAMESPACE" get statefulset/prometheus-prometheus ||
    lab_fail "the operator made no StatefulSet for the Prometheus (kubectl -n $NAMESPACE logs deployment/prometheus-operator)"
  kubectl -n "$NAMESPACE" rollout status statefulset/prometheus-prometheus --timeout 180s
  start_alerting
}

# The Alertmanager and the receiver standing in for the on-call webhook, which runs on the node's
# address so that the Alertmanager's pod reaches it.
start_alerting() {
  start_process alert-receiver node "$LAB_ROOT/lab/scripts/alert-receiver.mjs" "$LAB_NODE_IP" \
    "$LAB_ALERT_RECEIVER_PORT" "$LAB_DIR/alerts.jsonl"
  wait_for alert-receiver 30 curl -fsS "http://$LAB_NODE_IP:$LAB_ALERT_RECEIVER_PORT/received" ||
    lab_fail "the alert receiver did not answer (log: $LAB_LOGS/alert-receiver.log)"
  local alertmanager
  alertmanager="$(binary_image "$ALERTMANAGER" /bin)"
  sed -e "s#\${ALERTMANAGER_IMAGE}#$alertmanager#g" -e "s#\${ALERTMANAGER_RELEASE}#$ALERTMANAGER_VERSION#g" \
    -e "s#\${ALERTMANAGER_IP}#$LAB_ALERTMANAGER_IP#g" \
    -e "s#\${RECEIVER_ADDRESS}#$LAB_NODE_IP:$LAB_ALERT_RECEIVER_PORT#g" \
    "$LAB_ROOT/lab/scripts/monitoring/alertmanager.yaml" | kubectl apply -f -
  wait_for "the Alertmanager StatefulSet" 60 kubectl -n "$NAMESPACE" get statefulset/alertmanager-main ||
    lab_fail "the operator made no StatefulSet for the Alertmanager (kubectl -n $NAMESPACE logs deployment/prometheus-operator)"
  kubectl -n "$NAMESPACE" rollout status statefulset/alertmanager-main --timeout 180s
}

case "${1:-}" in
  start) "$1" ;;
  *) echo "usage: monitoring.sh start" >&2 && exit 2 ;;
esac
