#!/usr/bin/env bash
# Fake fix: the whole fix, but checkout pinned to the general node: no spot savings left.
set -euo pipefail
bash "$(dirname "$0")/../solution/solve.sh"
kubectl --context "$BREAKFIX_KUBE_CONTEXT" -n "$BREAKFIX_NAMESPACE" patch deployment checkout --type merge -p '{"spec": {"template": {"spec": {"nodeSelector": {"breakfix.dev/pool": "general"}}}}}'
kubectl --context "$BREAKFIX_KUBE_CONTEXT" -n "$BREAKFIX_NAMESPACE" rollout status deployment/checkout --timeout=180s
