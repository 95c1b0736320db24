#!/usr/bin/env bash
# Fake fix: the right readiness, then the StatefulSet frozen: a partition of 3 keeps every member on the old version.
set -euo pipefail
bash "$(dirname "$0")/../solution/solve.sh"
kubectl --context "$BREAKFIX_KUBE_CONTEXT" -n "$BREAKFIX_NAMESPACE" patch statefulset cache --type merge \
  -p '{"spec": {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 3}}}}'
