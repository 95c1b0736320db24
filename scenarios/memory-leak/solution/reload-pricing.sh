#!/usr/bin/env bash
# Reload pricing's code (SIGHUP re-execs the service) and wait until it answers again.
# Retries while an OOM restart is in progress: exec into a restarting container fails.
set -euo pipefail
for _ in $(seq 50); do
  docker exec "$BREAKFIX_PREFIX-pricing" sh -c 'kill -HUP "$(cat /tmp/pricing.pid)"' 2>/dev/null && break
  sleep 0.2
done
sleep 0.5
for _ in $(seq 50); do curl -fsS -o /dev/null http://127.0.0.1:8081/healthz && exit 0; sleep 0.2; done
echo "pricing did not come back after the reload" >&2; exit 1
