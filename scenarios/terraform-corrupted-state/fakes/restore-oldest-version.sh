#!/usr/bin/env bash
# Fake fix: restore a valid version of the state -- but the oldest one, not the last good one.
set -euo pipefail
bucket=$BREAKFIX_TF_BUCKET
key="env:/prod/payments/pipeline.tfstate"
oldest=$(aws s3api list-object-versions --bucket "$bucket" --prefix "$key" --query "Versions[?Key=='$key'].VersionId" --output text | awk '{print $NF}')
aws s3api copy-object --bucket "$bucket" --key "$key" --copy-source "$bucket/$key?versionId=$oldest" >/dev/null
