#!/usr/bin/env bash
# Wrong implementation: the reference solution retrying every HTTP error, 4xx included.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/fetcher.py"
grep -q 'if exc.code != 429 and exc.code < 500:' "$target"
sed -i 's/if exc.code != 429 and exc.code < 500:/if exc.code < 400:/' "$target"
