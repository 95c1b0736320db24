#!/usr/bin/env bash
# Fake fix: the API is protected, but the report builders keep growing without a limit.
set -euo pipefail
healthy="$(dirname "$0")/../stack/manifests"
kubectl --context "$BREAKFIX_KUBE_CONTEXT" -n "$BREAKFIX_NAMESPACE" apply -f "$healthy/01-priority-api.yaml" -f "$healthy/10-orders-api.yaml"
kubectl --context "$BREAKFIX_KUBE_CONTEXT" -n "$BREAKFIX_NAMESPACE" rollout status deployment/orders-api --timeout=180s
