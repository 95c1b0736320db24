#!/usr/bin/env bash
# Wrong implementation: the reference solution that never forgets a key -- every answer right,
# memory growing with every distinct alert ever seen.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/dedup.py"
sed -i 's/while self._emissions and self._emissions\[0\]\[0\] <= horizon:/while False:/' "$target"
grep -q 'while False:' "$target"
