#!/usr/bin/env bash
# Fake fix: spread and graceful shutdown, but no PodDisruptionBudget.
set -euo pipefail
bash "$(dirname "$0")/../solution/solve.sh"
kubectl --context "$BREAKFIX_KUBE_CONTEXT" -n "$BREAKFIX_NAMESPACE" delete poddisruptionbudget/checkout --wait=true
