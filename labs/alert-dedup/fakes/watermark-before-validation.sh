#!/usr/bin/env bash
# Wrong implementation: the reference solution that checks `ts` and moves the watermark before
# validating the rest of the alert, so an alert rejected for its labels still moves the watermark.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/dedup.py"
grep -q '        ts, key = parse(alert)  # before any change' "$target"
sed -i 's/^        ts, key = parse(alert)  # before any change.*/        if isinstance(alert, dict) and type(alert.get("ts")) in (int, float) and math.isfinite(alert["ts"]):\n            self._max_ts = max(self._max_ts, alert["ts"])\n        ts, key = parse(alert)/' "$target"
grep -q 'self._max_ts = max(self._max_ts, alert\["ts"\])' "$target"
