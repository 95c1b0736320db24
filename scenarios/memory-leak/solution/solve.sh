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
# reload the code (SIGHUP re-execs the service); retry while an OOM restart is in progress
for _ in $(seq 50); do
  docker exec "$BREAKFIX_PREFIX-pricing" sh -c 'kill -HUP "$(cat /tmp/pricing.pid)"' 2>/dev/null && break
  sleep 0.2
done
sleep 0.5
for _ in $(seq 50); do curl -fsS -o /dev/null http://127.0.0.1:8081/healthz && exit 0; sleep 0.2; done
echo "pricing did not come back after the reload" >&2; exit 1
