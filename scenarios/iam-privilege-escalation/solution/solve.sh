#!/usr/bin/env bash
# Reference fix: undo the drift, keep every legitimate permission. As the break-glass admin
# (the default profile breakfix exports):
#  - developer-access and ci-deploy: make their reviewed version v1 the default again and delete
#    the unreviewed v2 (a policy version left behind is one `set-default-policy-version` away);
#  - the developers group's inline sts:AssumeRole on "*": deleted;
#  - ci-deploy's trust: back to the CI runner alone.
set -euo pipefail
account=123456789012
for policy in developer-access ci-deploy; do
  arn="arn:aws:iam::$account:policy/$policy"
  aws iam set-default-policy-version --policy-arn "$arn" --version-id v1
  for version in $(aws iam list-policy-versions --policy-arn "$arn" --query 'Versions[?!IsDefaultVersion].VersionId' --output text); do
    aws iam delete-policy-version --policy-arn "$arn" --version-id "$version"
  done
done
aws iam delete-group-policy --group-name developers --policy-name debug-pipeline
aws iam update-assume-role-policy --role-name ci-deploy --policy-document "{
  \"Version\": \"2012-10-17\",
  \"Statement\": [{\"Effect\": \"Allow\", \"Principal\": {\"AWS\": \"arn:aws:iam::$account:user/ci-runner\"}, \"Action\": \"sts:AssumeRole\"}]
}"
