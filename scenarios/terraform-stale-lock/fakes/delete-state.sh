#!/usr/bin/env bash
# Fake fix: "the state is broken, start over" -- unlock prod, delete its state object, apply from scratch.
set -euo pipefail
cd "$BREAKFIX_TF_DIR"
terraform workspace select prod
aws s3 rm "s3://$BREAKFIX_TF_BUCKET/env:/prod/shop/platform.tfstate.tflock"
aws s3 rm "s3://$BREAKFIX_TF_BUCKET/env:/prod/shop/platform.tfstate"
terraform apply -auto-approve -input=false
