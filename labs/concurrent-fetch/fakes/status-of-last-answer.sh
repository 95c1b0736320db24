#!/usr/bin/env bash
# Wrong implementation: the reference solution reporting the last HTTP status it ever received,
# so a 503 followed by a timeout gives status 503 instead of None (the last attempt's).
set -euo pipefail
target="$BREAKFIX_WORKSPACE/fetcher.py"
grep -q 'status, detail = None, f"no response ({exc})"' "$target"
sed -i 's/status, detail = None, f"no response ({exc})"/status, detail = locals().get("status"), f"no response ({exc})"/' "$target"
