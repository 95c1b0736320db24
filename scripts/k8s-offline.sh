#!/usr/bin/env bash
# Builds the offline Kubernetes cluster's binaries (see infra/k8s/k8s-offline.sh, which an
# installed breakfix carries too): scripts/k8s-offline.sh [--host] [--print-dir]
exec bash "$(dirname "${BASH_SOURCE[0]}")/../infra/k8s/k8s-offline.sh" "$@"
