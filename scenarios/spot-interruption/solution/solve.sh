#!/usr/bin/env bash
# Reference fix: spread replicas, a PodDisruptionBudget and a graceful shutdown (see SOLUTION.md).
# The fixed manifests are the scenario's own healthy stack.
set -euo pipefail
healthy="$(dirname "$0")/../stack/manifests"
cp "$healthy/10-checkout.yaml" "$healthy/20-checkout-pdb.yaml" stack/manifests/
kubectl --context "$BREAKFIX_KUBE_CONTEXT" -n "$BREAKFIX_NAMESPACE" apply -f stack/manifests/
kubectl --context "$BREAKFIX_KUBE_CONTEXT" -n "$BREAKFIX_NAMESPACE" rollout status deployment/checkout --timeout=180s
