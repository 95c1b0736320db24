#!/usr/bin/env bash
# Wrong implementation: the reference solution ignoring max_delay (the delay doubles forever).
set -euo pipefail
target="$BREAKFIX_WORKSPACE/fetcher.py"
grep -q 'nominal = min(self.max_delay, self.base_delay \* 2\*\*attempt)' "$target"
sed -i 's/nominal = min(self.max_delay, self.base_delay \* 2\*\*attempt)/nominal = self.base_delay * 2**attempt/' "$target"
