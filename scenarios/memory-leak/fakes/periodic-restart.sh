#!/usr/bin/env bash
# Fake fix: a "cron job" restarting pricing every 3 s, before the leak reaches the limit.
# Bounded: it restarts this container (by id) at most 100 times and ends when the container goes.
set -euo pipefail
id=$(docker inspect -f '{{.Id}}' "$BREAKFIX_PREFIX-pricing")
nohup bash -c "for _ in \$(seq 100); do sleep 3; docker restart -t 0 $id >/dev/null 2>&1 || exit 0; done" >/dev/null 2>&1 &
sleep 4
