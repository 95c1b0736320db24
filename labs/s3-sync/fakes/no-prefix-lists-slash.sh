#!/usr/bin/env bash
# Wrong implementation: the reference solution always listing Prefix="PREFIX/", which with no
# prefix is "/": no object is seen, so every run re-uploads everything and --delete removes nothing.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/s3sync.py"
grep -q 'Prefix=f"{prefix}/" if prefix else ""' "$target"
sed -i 's|Prefix=f"{prefix}/" if prefix else ""|Prefix=f"{prefix}/"|' "$target"
