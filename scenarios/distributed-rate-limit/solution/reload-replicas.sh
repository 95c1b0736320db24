#!/usr/bin/env bash
# Reload the three replicas' code: SIGHUP makes gunicorn start a new worker (importing the
# current stack/app) and retire the old one; wait until each answers on one worker again.
set -euo pipefail
for replica in api-1 api-2 api-3; do
  docker kill --signal HUP "$BREAKFIX_PREFIX-$replica" >/dev/null
done
for replica in api-1 api-2 api-3; do
  for _ in $(seq 100); do
    docker exec "$BREAKFIX_PREFIX-$replica" sh -c \
      'curl -fsS -o /dev/null http://127.0.0.1:8000/healthz && [ "$(pgrep -c -f "^/usr/bin/python3 /usr/bin/gunicorn")" -le 2 ]' \
      && continue 2
    sleep 0.2
  done
  echo "$replica did not come back after the reload" >&2; exit 1
done
