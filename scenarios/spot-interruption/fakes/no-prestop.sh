#!/usr/bin/env bash
# Fake fix: spread and a budget, but the pods stop serving the moment they get SIGTERM.
set -euo pipefail
bash "$(dirname "$0")/../solution/solve.sh"
kubectl --context "$BREAKFIX_KUBE_CONTEXT" -n "$BREAKFIX_NAMESPACE" patch deployment checkout --type json -p '[{"op": "remove", "path": "/spec/template/spec/containers/0/lifecycle"}, {"op": "remove", "path": "/spec/template/spec/containers/0/env"}]'
kubectl --context "$BREAKFIX_KUBE_CONTEXT" -n "$BREAKFIX_NAMESPACE" rollout status deployment/checkout --timeout=180s
