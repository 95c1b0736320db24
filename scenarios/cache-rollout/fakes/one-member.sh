#!/usr/bin/env bash
# Fake fix: the right readiness, then a single member "so a release has only one thing to restart".
set -euo pipefail
bash "$(dirname "$0")/../solution/solve.sh"
kubectl --context "$BREAKFIX_KUBE_CONTEXT" -n "$BREAKFIX_NAMESPACE" scale statefulset/cache --replicas=1
kubectl --context "$BREAKFIX_KUBE_CONTEXT" -n "$BREAKFIX_NAMESPACE" wait --for=delete pod/cache-1 pod/cache-2 --timeout=120s
