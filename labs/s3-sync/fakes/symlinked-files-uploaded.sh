#!/usr/bin/env bash
# Wrong implementation: the reference solution keeping every entry for which is_file() is true --
# which follows a symlink to a file, so links/readme-link.md is uploaded as a copy of README.md.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/s3sync.py"
grep -q 'if path.is_file() and not path.is_symlink():' "$target"
sed -i 's/if path.is_file() and not path.is_symlink():/if path.is_file():/' "$target"
