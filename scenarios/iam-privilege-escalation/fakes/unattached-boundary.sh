#!/usr/bin/env bash
# Fake fix: a permissions boundary that would stop IAM writes, created and never attached to a
# user or role (set with put-user-/put-role-permissions-boundary, it would have done something).
set -euo pipefail
aws iam create-policy --policy-name no-iam-writes-boundary --policy-document '{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": "*", "Resource": "*"},
    {"Effect": "Deny", "Action": ["iam:Create*", "iam:Attach*", "iam:Put*", "iam:Update*", "iam:PassRole", "sts:AssumeRole"], "Resource": "*"}
  ]
}' > /dev/null
