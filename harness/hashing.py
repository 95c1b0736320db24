"""One digest of a directory tree: what decides whether a recipe or an entry changed.

A file's relative path is hashed with its bytes, so a rename is a change, and lengths delimit
the entries, so bytes moved from one file to the next cannot give the same digest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any


def hash_tree(root: Path, digest: Any | None = None, *, skip: Callable[[tuple[str, ...]], bool] = lambda parts: False) -> Any:
    """Feed every file under `root` (sorted; `skip` gets its path parts and leaves it out) into
    `digest` (a new sha256 by default) and return it: several trees can share one digest."""
    digest = digest if digest is not None else hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        parts = path.relative_to(root).parts
        if skip(parts):
            continue
        rel = path.relative_to(root).as_posix().encode()
        data = path.read_bytes()
        digest.update(b"%d:%s\0%d:" % (len(rel), rel, len(data)))
        digest.update(data)
    return digest
