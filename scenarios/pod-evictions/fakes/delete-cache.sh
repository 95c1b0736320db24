#!/usr/bin/env bash
# Fake fix: the right fix, then the price cache deleted "to make room".
set -euo pipefail
bash "$(dirname "$0")/../solution/solve.sh"
kubectl --context "$BREAKFIX_KUBE_CONTEXT" -n "$BREAKFIX_NAMESPACE" delete deployment/price-cache --wait=true
