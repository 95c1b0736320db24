#!/usr/bin/env bash
# Wrong implementation: the reference solution taking any JSON 200 as a page, a missing `data` as
# an empty one -- an object or an array where a list page belongs passes as "no objects".
set -euo pipefail
target="$BREAKFIX_WORKSPACE/fetcher.py"
grep -q 'data = page.get("data") if isinstance(page, dict) else None' "$target"
sed -i 's/data = page.get("data") if isinstance(page, dict) else None/data = page.get("data", []) if isinstance(page, dict) else []/' "$target"
