#!/usr/bin/env bash
# Fake fix: the CI side fixed as the reference does, and the developers group deleted outright --
# no group, no escalation, and no developer can do their work either.
set -euo pipefail
bash "$(dirname "$0")/../solution/solve.sh"
for user in alice bob; do aws iam remove-user-from-group --group-name developers --user-name "$user"; done
aws iam detach-group-policy --group-name developers --policy-arn arn:aws:iam::123456789012:policy/developer-access
aws iam delete-group --group-name developers
