#!/usr/bin/env bash
# Wrong implementation: the reference solution answering a missing key with a plain-text 401
# ("missing API key") instead of the JSON error.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/ratelimit.py"
grep -q 'return _json(start_response, "401 Unauthorized", {"error": "missing API key"})' "$target"
sed -i 's/            return _json(start_response, "401 Unauthorized", {"error": "missing API key"})/            start_response("401 Unauthorized", [("Content-Type", "text\/plain")])\n            return [b"missing API key\\n"]/' "$target"
python3 -c "import ast, sys; ast.parse(open(sys.argv[1]).read())" "$target"
