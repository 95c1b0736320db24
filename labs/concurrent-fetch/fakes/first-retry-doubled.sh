#!/usr/bin/env bash
# Wrong implementation: the reference solution counting retries from 1, so the first retry waits
# base_delay * 2 and every delay is one doubling too long.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/fetcher.py"
grep -q 'nominal = min(self.max_delay, self.base_delay \* 2\*\*attempt)' "$target"
sed -i 's/nominal = min(self.max_delay, self.base_delay \* 2\*\*attempt)/nominal = min(self.max_delay, self.base_delay * 2**(attempt + 1))/' "$target"
