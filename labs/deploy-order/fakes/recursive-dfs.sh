#!/usr/bin/env bash
# Wrong implementation: the reference solution behind a textbook recursive depth-first cycle
# check -- right on small plans, RecursionError on a 100k-deep chain.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/deploy_order.py"
python3 - "$target" "$(dirname "$0")/recursive-dfs/override.py" <<'PY'
import sys
target, override = sys.argv[1], sys.argv[2]
source = open(target).read()
head, main = source.split('\nif __name__ == "__main__":', 1)
open(target, "w").write(head + open(override).read() + '\n\nif __name__ == "__main__":' + main)
PY
