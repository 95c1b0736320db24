#!/usr/bin/env bash
# Wrong implementation: the reference solution without the sweep -- expired entries are hidden
# from every call (and from len) but stay in memory until their own key is touched again.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/kvstore.py"
sed -i -e 's/while heap and heap\[0\]\[0\] <= now:/while heap and heap[0][0] <= now and False:/' \
       -e 's/            return len(self._data)/            return sum(1 for key in list(self._data) if self._live(key, self._clock()))/' "$target"
grep -q 'and False:' "$target"
