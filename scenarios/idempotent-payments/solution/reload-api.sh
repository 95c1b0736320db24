#!/usr/bin/env bash
# Deploy the code in the workspace as the release was: a graceful gunicorn reload (SIGHUP) of each
# replica; its new workers load the *.py files on disk (grading waits until both run them).
set -euo pipefail
for replica in api-1 api-2; do
  docker exec "$BREAKFIX_PREFIX-$replica" sh -c 'kill -HUP "$(cat /tmp/gunicorn.pid)"'
done
