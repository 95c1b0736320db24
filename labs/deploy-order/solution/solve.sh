#!/usr/bin/env bash
# Reference solution: Kahn's algorithm with a min-heap, iterative cycle naming.
set -euo pipefail
cp "$(dirname "$0")/deploy_order.py" "$BREAKFIX_WORKSPACE/deploy_order.py"
