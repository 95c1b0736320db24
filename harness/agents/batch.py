"""Runs several short learner commands in ONE sandbox container and prints their outcomes as JSON.

Mounted read-only at /breakfix/batch.py and run as the learner (standard library only). One
container for a dozen small cases instead of a dozen containers keeps a grading run fast; each
case still gets its own wall-clock limit, and the container's limits bound the whole batch.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING or __package__:  # imported on the host, as part of harness.agents
    from .constants import BATCH_MARK
else:  # run in a container, the constants bound beside this file (harness.agents.volumes)
    from breakfix_constants import BATCH_MARK

KEEP_STDOUT = 256 * 1024
KEEP_STDERR = 16 * 1024


def run_case(argv: list[str], timeout: float) -> dict[str, object]:
    started = time.monotonic()
    try:
        done = subprocess.run(argv, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired as exc:
        return {"exit_code": None, "timed_out": True, "seconds": timeout,
                "stdout": (exc.stdout or b"")[:KEEP_STDOUT].decode(errors="replace"),
                "stderr": (exc.stderr or b"")[-KEEP_STDERR:].decode(errors="replace")}
    except OSError as exc:
        return {"exit_code": 127, "timed_out": False, "seconds": 0.0, "stdout": "", "stderr": str(exc)}
    return {"exit_code": done.returncode, "timed_out": False, "seconds": round(time.monotonic() - started, 4),
            "stdout": done.stdout[:KEEP_STDOUT].decode(errors="replace"),
            "stderr": done.stderr[-KEEP_STDERR:].decode(errors="replace")}


def main() -> int:
    with open(sys.argv[1]) as stream:
        spec = json.load(stream)
    results = {name: run_case(argv, float(spec["timeout"])) for name, argv in spec["cases"].items()}
    sys.stdout.write("\n" + BATCH_MARK + json.dumps(results) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
