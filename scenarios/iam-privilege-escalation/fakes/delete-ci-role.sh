#!/usr/bin/env bash
# Fake fix: the developers' paths closed, and the CI deploy role deleted rather than fixed.
set -euo pipefail
bash "$(dirname "$0")/../solution/solve.sh"
aws iam detach-role-policy --role-name ci-deploy --policy-arn arn:aws:iam::123456789012:policy/ci-deploy
aws iam delete-role --role-name ci-deploy
