"""Docker sizes (128m, 1g, 4096): one grammar and one reading for stacks, sandboxes and faults."""

from __future__ import annotations

import re

SIZE = re.compile(r"^\d+[bkmg]?$", re.IGNORECASE)  # whole bytes, k, m or g: what compose and `docker run` take


def size_bytes(size: str) -> int:
    """A docker size in bytes, as the engine reads it; ValueError for anything else."""
    if not SIZE.match(size):
        raise ValueError(f"{size!r} is not a size like 128m")
    from docker.utils import parse_bytes  # the SDK's own reading; imported here, not when a catalog loads

    return int(parse_bytes(size))
