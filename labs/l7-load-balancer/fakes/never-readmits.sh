#!/usr/bin/env bash
# Wrong implementation: the reference solution whose health checker stops probing a backend once
# it is marked down -- so a recovered backend is never seen healthy again.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/lb.py"
grep -q '^    while True:$' "$target"
sed -i 's/^    while True:$/    while backend.healthy:/' "$target"
