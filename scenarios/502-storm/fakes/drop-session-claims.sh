#!/usr/bin/env bash
# Fake fix: shrink the cookie by rolling the session back to compact claims (removes the feature).
set -euo pipefail
echo '{"session_claims": "compact"}' > "$BREAKFIX_WORKSPACE/stack/app/settings.json"
for backend in app-1 app-2; do
  docker exec "$BREAKFIX_PREFIX-$backend" sh -c 'kill -HUP "$(cat /tmp/gunicorn.pid)"'
done
sleep 2  # gunicorn replaces its workers after HUP
