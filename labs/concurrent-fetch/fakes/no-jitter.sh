#!/usr/bin/env bash
# Wrong implementation: the reference solution with the jitter removed (always the full delay).
set -euo pipefail
target="$BREAKFIX_WORKSPACE/fetcher.py"
grep -q 'delay = nominal / 2 + random.uniform(0, nominal / 2)' "$target"
sed -i 's|delay = nominal / 2 + random.uniform(0, nominal / 2)|delay = nominal|' "$target"
