#!/usr/bin/env bash
# Wrong implementation: the reference solution with a single worker (resources fetched in turn).
set -euo pipefail
target="$BREAKFIX_WORKSPACE/fetcher.py"
grep -q '^MAX_WORKERS = 16$' "$target"
sed -i 's/^MAX_WORKERS = 16$/MAX_WORKERS = 1/' "$target"
