#!/usr/bin/env bash
# Fake fix: no 502s if nginx is out of the path -- publish one backend on the LB's port.
set -euo pipefail
docker stop -t 1 "$BREAKFIX_PREFIX-lb"
secret=$(docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$BREAKFIX_PREFIX-app-1" | sed -n 's/^SESSION_SECRET=//p')
docker run -d --name "$BREAKFIX_PREFIX-direct" --label "breakfix.instance=$BREAKFIX_INSTANCE" \
  --network "$BREAKFIX_NETWORK" -p 127.0.0.1:8080:8000 \
  -e BACKEND_ID=app-1 -e SESSION_SECRET="$secret" -v "$BREAKFIX_WORKSPACE/stack/app:/srv/app" \
  breakfix/base:bookworm gunicorn --workers 3 --bind 0.0.0.0:8000 --chdir /srv/app payments_api:app
for _ in $(seq 50); do curl -fsS -o /dev/null http://127.0.0.1:8080/healthz && exit 0; sleep 0.2; done
echo "direct backend did not come up" >&2; exit 1
