#!/usr/bin/env bash
# Fake fix: a PodDisruptionBudget that allows no eviction at all.
set -euo pipefail
bash "$(dirname "$0")/../solution/solve.sh"
kubectl --context "$BREAKFIX_KUBE_CONTEXT" -n "$BREAKFIX_NAMESPACE" patch poddisruptionbudget checkout --type merge -p '{"spec": {"minAvailable": "100%"}}'
