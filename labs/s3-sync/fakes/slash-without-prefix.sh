#!/usr/bin/env bash
# Wrong implementation: the reference solution always joining PREFIX + "/" + path, so with no
# prefix every key starts with a slash (/docs/a.txt).
set -euo pipefail
target="$BREAKFIX_WORKSPACE/s3sync.py"
grep -q 'key = f"{prefix}/{relative}" if prefix else relative' "$target"
sed -i 's|key = f"{prefix}/{relative}" if prefix else relative|key = f"{prefix}/{relative}"|' "$target"
