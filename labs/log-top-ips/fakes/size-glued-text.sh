#!/usr/bin/env bash
# Wrong implementation: the reference solution letting the line go on right after SIZE without
# the space (`200 12"-" ...` counts as valid).
set -euo pipefail
target="$BREAKFIX_WORKSPACE/top_ips.py"
grep -q '(?:\\d+|-)(?: \.\*)?' "$target"
sed -i 's/(?:\\d+|-)(?: \.\*)?/(?:\\d+|-).*/' "$target"
