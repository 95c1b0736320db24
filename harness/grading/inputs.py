"""Large generated grader inputs (a 1 GB log, a 100k-node plan), built once and cached.

Inputs are generated deterministically by the lab's checks and kept under the user's state dir,
never in the repository. A file appears only complete (written aside, then renamed), and is
world-readable because the sandbox mounts it for a learner who is not its owner.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from harness.paths import state_dir


def cache_dir(lab_id: str) -> Path:
    path = state_dir() / "cache" / lab_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def cached_input(lab_id: str, name: str, build: Callable[[Path], None]) -> Path:
    """The cached file `name` of this lab, calling build(partial_path) to write it when missing.
    Bump a version in `name` when the generator changes."""
    target = cache_dir(lab_id) / name
    if target.exists():
        return target
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        build(partial)
        partial.chmod(0o644)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target
