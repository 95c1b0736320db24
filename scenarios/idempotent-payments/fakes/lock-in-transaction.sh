#!/usr/bin/env bash
# Fake fix: the right code, but the pending row and the charge share one open transaction: the key
# is only committed with the answer, so a replica killed mid-charge rolls it back and the retry
# charges again.
set -euo pipefail
bash "$(dirname "$0")/../solution/solve.sh"
python3 - "$BREAKFIX_WORKSPACE/stack/app/payments.py" <<'PY'
import sys

path = sys.argv[1]
source = open(path).read()
insert = '            conn.execute(\n                "INSERT INTO payments'
update = '        (status, Jsonb(body), payment_id),\n    )\n'
assert insert in source and update in source
source = source.replace(insert, '            conn.execute("BEGIN")\n' + insert, 1)
source = source.replace(update, update + '    if conn.info.transaction_status != 0:\n        conn.execute("COMMIT")\n', 1)
open(path, "w").write(source)
PY
bash "$(dirname "$0")/../solution/reload-api.sh"
