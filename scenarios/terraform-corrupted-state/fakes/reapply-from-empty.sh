#!/usr/bin/env bash
# Fake fix: throw the broken state away and let Terraform create everything again.
set -euo pipefail
cd "$BREAKFIX_TF_DIR"
aws s3 rm "s3://$BREAKFIX_TF_BUCKET/env:/prod/payments/pipeline.tfstate"
terraform workspace select prod
terraform apply -auto-approve -input=false
