#!/usr/bin/env bash
# Wrong implementation: the reference solution naming every resource left over after Kahn's
# algorithm, sorted, as "the cycle" -- a real cycle only when nothing else is stuck behind it.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/deploy_order.py"
grep -q 'find_cycle(graph, {n for n, c in waiting.items() if c > 0})' "$target"
sed -i 's/find_cycle(graph, {n for n, c in waiting.items() if c > 0})/(lambda stuck: stuck + stuck[:1])(sorted(n for n, c in waiting.items() if c > 0))/' "$target"
grep -q 'stuck + stuck\[:1\]' "$target"
