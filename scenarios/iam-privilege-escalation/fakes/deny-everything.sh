#!/usr/bin/env bash
# Fake fix: nothing of the drift undone, an explicit Deny on every action attached to the
# developers and the CI role instead (a Deny wins over every Allow).
set -euo pipefail
arn=$(aws iam create-policy --policy-name deny-everything --query Policy.Arn --output text \
  --policy-document '{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}')
aws iam attach-group-policy --group-name developers --policy-arn "$arn"
aws iam attach-role-policy --role-name ci-deploy --policy-arn "$arn"
