#!/usr/bin/env bash
# Wrong implementation: the reference solution with the window closed on the right, so an
# alert exactly `window` seconds after the last notification is still suppressed.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/dedup.py"
sed -i 's/ts - last >= self.window/ts - last > self.window/' "$target"
grep -q 'ts - last > self.window' "$target"
