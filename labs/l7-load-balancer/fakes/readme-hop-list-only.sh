#!/usr/bin/env bash
# Wrong implementation: the reference solution treating only the three names the README once gave
# as examples (Connection, Keep-Alive, Transfer-Encoding) as hop-by-hop: Proxy-Authorization, TE,
# Proxy-Authenticate and the rest are passed on.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/lb.py"
grep -q '^HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection"' "$target"
sed -i '/^HOP_BY_HOP = {/,/}$/c\HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding"}' "$target"
grep -q '^HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding"}$' "$target"
python3 -c "import ast, sys; ast.parse(open(sys.argv[1]).read())" "$target"
