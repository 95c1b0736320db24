#!/usr/bin/env bash
# Wrong implementation: the reference solution dropping only the fixed list of hop-by-hop names,
# not the headers a Connection header names (X-Client-Hop reaches the backend).
set -euo pipefail
target="$BREAKFIX_WORKSPACE/lb.py"
grep -q 'if name.lower() not in HOP_BY_HOP and name.lower() not in named\]' "$target"
sed -i 's/if name.lower() not in HOP_BY_HOP and name.lower() not in named\]/if name.lower() not in HOP_BY_HOP]/' "$target"
