#!/usr/bin/env bash
# Wrong implementation: the reference solution trying the next backend whenever one fails, also
# after the request was sent: a POST the first backend received is sent to every other one.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/lb.py"
grep -q 'return self._reply(502, f"bad gateway: {backend.name}: {type(exc).__name__}\\n".encode())' "$target"
sed -i 's/^\( *\)return self._reply(502, f"bad gateway: {backend.name}: {type(exc).__name__}\\n".encode())$/\1continue/' "$target"
python3 -c "import ast, sys; ast.parse(open(sys.argv[1]).read())" "$target"
