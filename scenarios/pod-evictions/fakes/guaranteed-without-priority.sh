#!/usr/bin/env bash
# Fake fix: Guaranteed API and bounded batch, but the API stays at default priority.
set -euo pipefail
bash "$(dirname "$0")/../solution/solve.sh"
kubectl --context "$BREAKFIX_KUBE_CONTEXT" -n "$BREAKFIX_NAMESPACE" patch deployment orders-api --type json \
  -p '[{"op": "remove", "path": "/spec/template/spec/priorityClassName"}]'
kubectl --context "$BREAKFIX_KUBE_CONTEXT" -n "$BREAKFIX_NAMESPACE" rollout status deployment/orders-api --timeout=180s
