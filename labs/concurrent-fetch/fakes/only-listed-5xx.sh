#!/usr/bin/env bash
# Wrong implementation: the reference solution retrying only 429, 500, 502 and 503, so a 504 (or
# any other 5xx) ends the fetch at once.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/fetcher.py"
grep -q 'if exc.code != 429 and exc.code < 500:' "$target"
sed -i 's/if exc.code != 429 and exc.code < 500:/if exc.code not in (429, 500, 502, 503):/' "$target"
