#!/usr/bin/env bash
# Wrong implementation: the reference solution re-admitting a backend only when its passes exceed
# rise (`>` for `>=`): one check, half a second, late.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/lb.py"
grep -q 'if not backend.healthy and backend.successes >= self.rise:' "$target"
sed -i 's/if not backend.healthy and backend.successes >= self.rise:/if not backend.healthy and backend.successes > self.rise:/' "$target"
