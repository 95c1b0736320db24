#!/usr/bin/env bash
# Wrong implementation: the reference solution without active health checks; a backend that
# refuses a connection is marked down on the spot and nothing ever marks it up again.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/lb.py"
grep -q 'threading.Thread(target=check_forever' "$target"
grep -q 'continue  # nothing was sent' "$target"
sed -i \
  -e '/threading.Thread(target=check_forever/d' \
  -e '/    for backend in pool.backends:/d' \
  -e 's/^\( *\)continue  # nothing was sent.*/\1backend.healthy = False\n\1continue/' \
  "$target"
python3 -c "import ast, sys; ast.parse(open(sys.argv[1]).read())" "$target"
