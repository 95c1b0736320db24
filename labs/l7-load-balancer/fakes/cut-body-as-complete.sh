#!/usr/bin/env bash
# Wrong implementation: the reference solution relaying whatever part of the body arrived when a
# backend cuts its response short, with a Content-Length that makes it look complete.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/lb.py"
grep -q '^                payload = response.read()$' "$target"
sed -i 's/^                payload = response.read()$/                try:\n                    payload = response.read()\n                except http.client.IncompleteRead as cut:\n                    payload = cut.partial/' "$target"
python3 -c "import ast, sys; ast.parse(open(sys.argv[1]).read())" "$target"
