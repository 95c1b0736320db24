#!/usr/bin/env bash
# Run breakfix, setting up whatever is missing first:  ./breakfix.sh start 502-storm
set -euo pipefail
source "$(dirname "$0")/scripts/bootstrap.sh"
bootstrap
exec "$VENV/bin/breakfix" "$@"
