#!/usr/bin/env bash
# Fake fix: the right code, but every payment takes one database-wide advisory lock (waiting for it)
# instead of its own key's: no race is possible, and no two payments ever run at once.
set -euo pipefail
bash "$(dirname "$0")/../solution/solve.sh"
python3 - "$BREAKFIX_WORKSPACE/stack/app/payments.py" <<'PY'
import sys

path = sys.argv[1]
source = open(path).read()
for old, new in {
    '"SELECT pg_try_advisory_lock(hashtextextended(%s, 0))"': '"SELECT true FROM pg_advisory_lock(0) WHERE %s::text IS NOT NULL"',
    '"SELECT pg_advisory_unlock(hashtextextended(%s, 0))"': '"SELECT pg_advisory_unlock(0) WHERE %s::text IS NOT NULL"',
}.items():
    assert old in source, old
    source = source.replace(old, new)
open(path, "w").write(source)
PY
bash "$(dirname "$0")/../solution/reload-api.sh"
