#!/usr/bin/env bash
# Reference fix: make the newest complete version of the state current again (S3 versioning),
# keeping its lineage, serial and every resource ID; nothing is re-applied.
set -euo pipefail
cd "$BREAKFIX_TF_DIR"
bucket=$BREAKFIX_TF_BUCKET
key="env:/prod/payments/pipeline.tfstate"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Versions of the state object, newest first; keep the first that is a full Terraform state.
restore=""
for version in $(aws s3api list-object-versions --bucket "$bucket" --prefix "$key" \
                   --query "Versions[?Key=='$key'].VersionId" --output text); do
  aws s3api get-object --bucket "$bucket" --key "$key" --version-id "$version" "$scratch/state" >/dev/null
  if python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); sys.exit(0 if s["resources"] else 1)' "$scratch/state" 2>/dev/null; then
    restore=$version
    break
  fi
done
[ -n "$restore" ] || { echo "no complete version of $key found" >&2; exit 1; }

# Copying a version over the key makes it the current one; the corrupt versions stay in history.
aws s3api copy-object --bucket "$bucket" --key "$key" --copy-source "$bucket/$key?versionId=$restore" >/dev/null
terraform workspace select prod
terraform plan -detailed-exitcode -input=false >/dev/null
