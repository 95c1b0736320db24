#!/usr/bin/env bash
# Wrong implementation: the reference solution catching only FileNotFoundError, so a directory or
# a file without read permission ends in a traceback.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/top_ips.py"
grep -q '    except OSError as exc:' "$target"
sed -i 's/    except OSError as exc:/    except FileNotFoundError as exc:/' "$target"
