#!/usr/bin/env bash
# Fake fix: more memory instead of a bounded cache -- the leak only takes longer to kill it.
set -euo pipefail
docker update --memory 1g --memory-swap 1g "$BREAKFIX_PREFIX-pricing"
