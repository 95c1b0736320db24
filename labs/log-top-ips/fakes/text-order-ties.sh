#!/usr/bin/env bash
# Wrong implementation: the reference solution breaking ties by the address's text instead of
# its numeric value, so 10.0.0.1 comes before 9.9.9.9 and 2001:db8::10 before 2001:db8::9.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/top_ips.py"
sed -i 's/item\[0\].version, int(item\[0\])/item[0].version, str(item[0])/' "$target"
grep -q 'item\[0\].version, str(item\[0\])' "$target"
