#!/usr/bin/env bash
# Wrong implementation: the reference solution relaying the backend's headers through a dict, so a
# repeated header (two Set-Cookie) arrives once, with the last value.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/lb.py"
grep -q 'end_to_end(response.getheaders())' "$target"
sed -i 's/end_to_end(response.getheaders())/list(dict(end_to_end(response.getheaders())).items())/' "$target"
