#!/usr/bin/env bash
# Reference fix: the members are Ready only once warm, so the rolling update waits for each (see SOLUTION.md).
# The fixed manifests are the scenario's own healthy stack.
set -euo pipefail
healthy="$(dirname "$0")/../stack/manifests"
cp "$healthy/10-cache.yaml" stack/manifests/
kubectl --context "$BREAKFIX_KUBE_CONTEXT" -n "$BREAKFIX_NAMESPACE" apply -f stack/manifests/
kubectl --context "$BREAKFIX_KUBE_CONTEXT" -n "$BREAKFIX_NAMESPACE" rollout status statefulset/cache --timeout=360s
kubectl --context "$BREAKFIX_KUBE_CONTEXT" -n "$BREAKFIX_NAMESPACE" rollout status deployment/storefront --timeout=120s
