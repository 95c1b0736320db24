#!/usr/bin/env bash
# Deploy the workspace's code as the release was: stop the running dispatcher; its supervisor starts
# it again from the code on disk (grading waits until it runs that code).
set -euo pipefail
docker exec "$BREAKFIX_PREFIX-dispatcher" sh -c 'kill "$(cat /tmp/app.pid)"'
