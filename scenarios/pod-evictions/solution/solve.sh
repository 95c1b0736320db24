#!/usr/bin/env bash
# Reference fix: the API Guaranteed and above the batch, the batch bounded (see SOLUTION.md).
# The fixed manifests are the scenario's own healthy stack.
set -euo pipefail
healthy="$(dirname "$0")/../stack/manifests"
for file in 01-priority-api.yaml 10-orders-api.yaml 20-report-builder.yaml; do
  cp "$healthy/$file" stack/manifests/
done
kubectl --context "$BREAKFIX_KUBE_CONTEXT" -n "$BREAKFIX_NAMESPACE" apply -f stack/manifests/
for deployment in orders-api report-builder price-cache; do
  kubectl --context "$BREAKFIX_KUBE_CONTEXT" -n "$BREAKFIX_NAMESPACE" rollout status "deployment/$deployment" --timeout=180s
done
