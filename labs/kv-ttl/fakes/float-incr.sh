#!/usr/bin/env bash
# Wrong implementation: the reference solution whose incr accepts any number -- a float value (or
# delta) is added to instead of raising TypeError.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/kvstore.py"
grep -q '    return isinstance(value, int) and not isinstance(value, bool)' "$target"
sed -i 's/    return isinstance(value, int) and not isinstance(value, bool)/    return isinstance(value, (int, float)) and not isinstance(value, bool)/' "$target"
