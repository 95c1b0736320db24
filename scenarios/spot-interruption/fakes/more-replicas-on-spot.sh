#!/usr/bin/env bash
# Fake fix: three replicas, all still pinned to the one spot node.
set -euo pipefail
kubectl --context "$BREAKFIX_KUBE_CONTEXT" -n "$BREAKFIX_NAMESPACE" scale deployment/checkout --replicas=3
kubectl --context "$BREAKFIX_KUBE_CONTEXT" -n "$BREAKFIX_NAMESPACE" rollout status deployment/checkout --timeout=180s
