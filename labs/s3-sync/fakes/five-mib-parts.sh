#!/usr/bin/env bash
# Wrong implementation: the reference solution uploading in parts of 5 MiB (S3's minimum) instead
# of 8 MiB; its local ETags follow, so change detection still works.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/s3sync.py"
grep -q '^PART_SIZE = 8 \* MiB$' "$target"
sed -i 's/^PART_SIZE = 8 \* MiB$/PART_SIZE = 5 * MiB/' "$target"
