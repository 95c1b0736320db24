#!/usr/bin/env bash
# Fake fix: restart policy "always" -- the policy was never the problem.
set -euo pipefail
docker update --restart always "$BREAKFIX_PREFIX-pricing"
