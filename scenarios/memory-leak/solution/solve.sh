#!/usr/bin/env bash
# Reference fix: bound the quote cache again -- evict the least recently used quote on insert.
set -euo pipefail
cache="$BREAKFIX_WORKSPACE/stack/app/quote_cache.py"
python3 - "$cache" <<'PY'
import re
import sys

path = sys.argv[1]
source = open(path).read()
insert = "            self._entries[key] = (now, quote)\n            self._entries.move_to_end(key)\n"
evict = "            while len(self._entries) > self.max_entries:\n                self._entries.popitem(last=False)\n"
if evict not in source:
    # drop the 2.4.0 comment that replaced the eviction, then evict right after the insert
    source = re.sub(r"            # 2\.4\.0 \(PRICING-412\).*\n(            #.*\n)*", "", source)
    source = source.replace(insert, insert + evict, 1)
open(path, "w").write(source)
PY
grep -q 'self._entries.popitem(last=False)' "$cache"
bash "$(dirname "$0")/reload-pricing.sh"
