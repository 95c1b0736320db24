#!/usr/bin/env bash
# Fake fix: "repair" the truncated state by hand -- cut it after the last complete resource, close
# the brackets, upload it, and let `terraform apply` create whatever the cut lost.
set -euo pipefail
cd "$BREAKFIX_TF_DIR"
key="env:/prod/payments/pipeline.tfstate"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
aws s3 cp "s3://$BREAKFIX_TF_BUCKET/$key" "$scratch/state" >/dev/null
python3 - "$scratch/state" <<'PY'
import json
import sys

path = sys.argv[1]
raw = open(path).read()
cut = raw.rfind("\n    },")  # the end of the last resource the truncation left whole
repaired = raw[:cut] + "\n    }\n  ],\n  \"check_results\": null\n}\n"
json.loads(repaired)
open(path, "w").write(repaired)
PY
aws s3 cp "$scratch/state" "s3://$BREAKFIX_TF_BUCKET/$key" >/dev/null
terraform workspace select prod
terraform apply -auto-approve -input=false
