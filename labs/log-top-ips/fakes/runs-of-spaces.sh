#!/usr/bin/env bash
# Wrong implementation: the reference solution allowing runs of spaces between the first fields
# (what a split() on whitespace does), so `ADDRESS  - - [...` counts as valid.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/top_ips.py"
grep -q "rb'(\\\\S+) \\\\S+ \\\\S+ " "$target"
sed -i "s/rb'(\\\\S+) \\\\S+ \\\\S+ /rb'(\\\\S+) +\\\\S+ +\\\\S+ +/" "$target"
