#!/usr/bin/env bash
# Wrong implementation: the reference solution reading the whole log into memory first
# (`for raw in stream.read().splitlines()`): right answer, memory grows with the file.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/top_ips.py"
sed -i 's/for raw in stream:/for raw in stream.read().splitlines():/' "$target"
grep -q 'stream.read().splitlines()' "$target"
