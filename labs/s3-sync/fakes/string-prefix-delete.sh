#!/usr/bin/env bash
# Wrong implementation: the reference solution listing Prefix="backups" instead of "backups/", so
# "backups-old/..." looks like part of the synced tree and --delete removes it.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/s3sync.py"
grep -q 'Prefix=f"{prefix}/" if prefix else ""' "$target"
sed -i 's|Prefix=f"{prefix}/" if prefix else ""|Prefix=prefix|' "$target"
