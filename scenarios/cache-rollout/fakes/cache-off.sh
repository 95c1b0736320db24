#!/usr/bin/env bash
# Fake fix: the right readiness, then the storefront's kill switch: every page from the catalog database.
set -euo pipefail
bash "$(dirname "$0")/../solution/solve.sh"
kubectl --context "$BREAKFIX_KUBE_CONTEXT" -n "$BREAKFIX_NAMESPACE" set env deployment/storefront CACHE_ENABLED=false
kubectl --context "$BREAKFIX_KUBE_CONTEXT" -n "$BREAKFIX_NAMESPACE" rollout status deployment/storefront --timeout=120s
