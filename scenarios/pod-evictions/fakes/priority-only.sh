#!/usr/bin/env bash
# Fake fix: a high PriorityClass on a BestEffort API; the batch stays unbounded.
set -euo pipefail
kubectl --context "$BREAKFIX_KUBE_CONTEXT" -n "$BREAKFIX_NAMESPACE" apply -f "$(dirname "$0")/../stack/manifests/01-priority-api.yaml"
kubectl --context "$BREAKFIX_KUBE_CONTEXT" -n "$BREAKFIX_NAMESPACE" patch deployment orders-api --type merge \
  -p '{"spec": {"template": {"spec": {"priorityClassName": "bf-pod-evictions-orders-api-critical"}}}}'
# no rollout wait: while the node reports MemoryPressure the kubelet refuses BestEffort pods at admission
