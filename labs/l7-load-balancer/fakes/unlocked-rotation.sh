#!/usr/bin/env bash
# Wrong implementation: the reference solution choosing the next backend without its lock, reading
# and updating the rotation's position in two steps: two threads can take the same turn.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/lb.py"
grep -q '            start = next(self._turn) % len(healthy)' "$target"
python3 - "$target" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
old = """        with self._lock:
            healthy = [b for b in self.backends if b.healthy]
            if not healthy:
                return []
            start = next(self._turn) % len(healthy)
            return healthy[start:] + healthy[:start]
"""
new = """        healthy = [b for b in self.backends if b.healthy]
        if not healthy:
            return []
        start = self._position % len(healthy)
        self._position = start + 1
        return healthy[start:] + healthy[:start]
"""
assert old in text, "the reference's candidates() changed"
text = text.replace(old, new).replace("        self._turn = itertools.count()\n", "        self._turn = itertools.count()\n        self._position = 0\n")
open(path, "w").write(text)
PY
