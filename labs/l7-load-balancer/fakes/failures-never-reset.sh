#!/usr/bin/env bash
# Wrong implementation: the reference solution whose passes do not reset the failure count, so
# failures that are not consecutive add up and remove a backend that is healthy most of the time.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/lb.py"
grep -q 'backend.failures, backend.successes = 0, backend.successes + 1' "$target"
grep -q 'if not backend.healthy and backend.successes >= self.rise:' "$target"
sed -i \
  -e 's/backend.failures, backend.successes = 0, backend.successes + 1/backend.successes += 1/' \
  -e 's/^\( *\)if not backend.healthy and backend.successes >= self.rise:/\1if not backend.healthy and backend.successes >= self.rise:\n\1    backend.failures = 0/' \
  "$target"
python3 -c "import ast, sys; ast.parse(open(sys.argv[1]).read())" "$target"
