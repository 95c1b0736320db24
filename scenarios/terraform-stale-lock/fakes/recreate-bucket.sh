#!/usr/bin/env bash
# Fake fix: wipe the state bucket (every version, every lock), recreate it and re-apply both workspaces.
set -euo pipefail
cd "$BREAKFIX_TF_DIR"
bucket=$BREAKFIX_TF_BUCKET
for kind in Versions DeleteMarkers; do
  objects=$(aws s3api list-object-versions --bucket "$bucket" --query "{Objects: $kind[].{Key: Key, VersionId: VersionId}}" --output json)
  if grep -q VersionId <<<"$objects"; then
    aws s3api delete-objects --bucket "$bucket" --delete "$objects" >/dev/null
  fi
done
aws s3api delete-bucket --bucket "$bucket"
aws s3api create-bucket --bucket "$bucket" >/dev/null
aws s3api put-bucket-versioning --bucket "$bucket" --versioning-configuration Status=Enabled
for workspace in prod staging; do
  terraform workspace select -or-create "$workspace"
  terraform apply -auto-approve -input=false
done
