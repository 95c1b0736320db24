#!/usr/bin/env bash
# Wrong implementation: the reference solution taking STATUS as any run of digits (`\d+`), so a
# 4-digit status such as `2000` counts as a valid line.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/top_ips.py"
grep -q '" \\d{3} (' "$target"
sed -i 's/" \\d{3} (/" \\d+ (/' "$target"
