#!/usr/bin/env bash
# Wrong implementation: the reference solution with a FIFO queue in input order instead of a
# min-heap of names -- always a valid order, but not the deterministic one the task asks for.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/deploy_order.py"
sed -i -e 's/heapq\.heapify(ready)/ready.reverse()/' -e 's/heapq\.heappop(ready)/ready.pop()/' \
       -e 's/heapq\.heappush(ready, dependent)/ready.insert(0, dependent)/' "$target"
grep -q 'ready.insert(0, dependent)' "$target"
