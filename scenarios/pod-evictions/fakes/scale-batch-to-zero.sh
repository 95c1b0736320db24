#!/usr/bin/env bash
# Fake fix: the right fix, then no more nightly reports.
set -euo pipefail
bash "$(dirname "$0")/../solution/solve.sh"
kubectl --context "$BREAKFIX_KUBE_CONTEXT" -n "$BREAKFIX_NAMESPACE" scale deployment/report-builder --replicas=0
