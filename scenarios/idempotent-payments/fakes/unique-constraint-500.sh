#!/usr/bin/env bash
# Fake fix: the unique constraint on (account, key) does the deduplication: every request inserts
# its pending row before the charge, and a duplicate's unique violation is its answer (a 500) --
# nothing is charged twice, but a retry never gets the first answer back.
set -euo pipefail
bash "$(dirname "$0")/../solution/solve.sh"
python3 - "$BREAKFIX_WORKSPACE/stack/app/payments.py" <<'PY'
import re
import sys

path = sys.argv[1]
source = open(path).read()
claim = "    if not try_claim(conn, account, key):\n        return IN_PROGRESS\n"
lookup = re.compile(r'        row = conn\.execute\(\n            "SELECT id, request_hash.*?\)\.fetchone\(\)\n', re.S)
assert claim in source and lookup.search(source)
source = lookup.sub("        row = None\n", source.replace(claim, ""), count=1)
source = source.replace("        release(conn, account, key)\n", "        pass\n")
open(path, "w").write(source)
PY
bash "$(dirname "$0")/../solution/reload-api.sh"
