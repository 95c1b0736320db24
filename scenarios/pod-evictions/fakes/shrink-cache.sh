#!/usr/bin/env bash
# Fake fix: the right fix, then the price cache cut to 64 MiB of its 192 MiB price list.
set -euo pipefail
bash "$(dirname "$0")/../solution/solve.sh"
kubectl --context "$BREAKFIX_KUBE_CONTEXT" -n "$BREAKFIX_NAMESPACE" set env deployment/price-cache CACHE_MIB=64
kubectl --context "$BREAKFIX_KUBE_CONTEXT" -n "$BREAKFIX_NAMESPACE" set resources deployment/price-cache --limits=cpu=100m,memory=128Mi --requests=cpu=100m,memory=128Mi
kubectl --context "$BREAKFIX_KUBE_CONTEXT" -n "$BREAKFIX_NAMESPACE" rollout status deployment/price-cache --timeout=180s
