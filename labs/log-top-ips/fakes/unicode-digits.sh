#!/usr/bin/env bash
# Wrong implementation: the reference solution matching decoded text with a str regex, whose `\d`
# takes any script's digits: a status of Arabic-Indic digits counts as valid.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/top_ips.py"
grep -q "re.compile(rb'" "$target"
grep -q 'line = raw.rstrip(b"\\n").removesuffix(b"\\r")' "$target"
sed -i \
  -e "s/re.compile(rb'/re.compile(r'/" \
  -e 's/line = raw.rstrip(b"\\n").removesuffix(b"\\r")/line = raw.decode("utf-8", "replace").rstrip("\\n").removesuffix("\\r")/' \
  -e 's/text.decode("ascii")/text.encode().decode("ascii")/' \
  "$target"
