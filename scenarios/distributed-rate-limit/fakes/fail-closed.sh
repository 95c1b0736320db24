#!/usr/bin/env bash
# Fake fix: the reference limiter, but refusing every request while Redis cannot answer --
# against the brief's policy (fail open): a Redis restart becomes an API outage.
set -euo pipefail
here="$(dirname "$0")"
limiter="$BREAKFIX_WORKSPACE/stack/app/limiter.py"
cp "$here/../stack/app/limiter.py" "$limiter"
python3 - "$limiter" <<'PY'
import sys

path = sys.argv[1]
source = open(path).read()
for old, new in [("return Decision(True)  # fail open", "return Decision(False, 1)  # fail closed")]:
    assert old in source
    source = source.replace(old, new)
open(path, "w").write(source)
PY
bash "$here/../solution/reload-replicas.sh"
