#!/usr/bin/env bash
# What the benchmarks need beyond ./run-tests.sh: the raw compose CLI they compare breakfix against
# (Debian ships docker-compose v1; `docker compose` v2 is used instead where it is installed).
set -euo pipefail
source "$(dirname "$0")/../scripts/bootstrap.sh"
bootstrap
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null; then
  apt_install docker-compose || die "no compose CLI and no apt-get: install docker compose v2 or docker-compose"
fi
say "benchmarks ready: $("$VENV/bin/python" -c 'from harness.runtime.docker import compose_command; print(" ".join(compose_command()))')"
