#!/usr/bin/env bash
# Fake fix: finish what 2.4.0 meant -- call sweep_expired() on every insert -- with no size bound:
# under load the cache gains quotes far faster than a 300 s TTL lets any go.
set -euo pipefail
cache="$BREAKFIX_WORKSPACE/stack/app/quote_cache.py"
python3 - "$cache" <<'PY'
import sys

path = sys.argv[1]
source = open(path).read()
source = source.replace("        return quote, False\n", "        self.sweep_expired()\n        return quote, False\n", 1)
open(path, "w").write(source)
PY
grep -q '        self.sweep_expired()' "$cache"
bash "$(dirname "$0")/../solution/reload-pricing.sh"
