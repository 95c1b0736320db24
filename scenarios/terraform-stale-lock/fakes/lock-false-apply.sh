#!/usr/bin/env bash
# Fake fix: skip locking -- apply prod with -lock=false and leave the stale lock where it is.
set -euo pipefail
cd "$BREAKFIX_TF_DIR"
terraform workspace select prod
terraform apply -lock=false -auto-approve -input=false -replace=terraform_data.db_migration
