#!/usr/bin/env bash
# Wrong implementation: the reference solution with multipart disabled (one PUT per file, any size).
set -euo pipefail
target="$BREAKFIX_WORKSPACE/s3sync.py"
grep -q '^MULTIPART_THRESHOLD = 8 \* MiB$' "$target"
sed -i 's/^MULTIPART_THRESHOLD = 8 \* MiB$/MULTIPART_THRESHOLD = 5 * 1024 * MiB/' "$target"
