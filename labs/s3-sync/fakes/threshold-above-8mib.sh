#!/usr/bin/env bash
# Wrong implementation: the reference solution using multipart only above 8 MiB, so a file of
# exactly 8 MiB goes up as one PUT.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/s3sync.py"
grep -q '^MULTIPART_THRESHOLD = 8 \* MiB$' "$target"
sed -i 's/^MULTIPART_THRESHOLD = 8 \* MiB$/MULTIPART_THRESHOLD = 8 * MiB + 1/' "$target"
