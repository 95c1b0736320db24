"""Baseline proofs: the entries this machine has already seen pass every check while healthy.

The baseline (every check passes on the freshly provisioned, healthy system) proves that an entry
can be solved on this machine. Its outcome depends on the entry's files, breakfix's own code, the
images the stack runs and the machine, so a proof is keyed by all four, and it lapses after a day
or a reboot. A later `start` of the same entry reuses it and goes straight to the fault; `verify`
always runs the baseline itself, and `start --baseline` forces one.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from harness.hashing import hash_tree
from harness.paths import PACKAGE_DIR, state_dir
from harness.state import write_atomic

VALID_FOR = 24 * 3600.0
PROOFS_FILE = "baselines.json"
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def key(entry_dir: Path, images: list[str]) -> str:
    """What a baseline's outcome depends on, as one digest: `images` are the stack's image ids."""
    digest = hashlib.sha256()
    hash_tree(entry_dir, digest, skip=lambda parts: "__pycache__" in parts)
    hash_tree(PACKAGE_DIR, digest, skip=lambda parts: "__pycache__" in parts or parts[0] == "content")  # the entries are hashed above
    digest.update("\0".join(images).encode())
    digest.update(BOOT_ID.read_bytes() if BOOT_ID.exists() else b"")
    return digest.hexdigest()


def _load() -> dict[str, float]:
    try:
        return {str(k): float(v) for k, v in json.loads((state_dir() / PROOFS_FILE).read_text()).items()}
    except (OSError, ValueError, AttributeError):
        return {}  # no proofs yet, or an unreadable file: the baseline simply runs


def proven_at(proof_key: str) -> float | None:
    """When the baseline last passed under exactly these conditions, if that is recent enough."""
    at = _load().get(proof_key)
    return at if at is not None and time.time() - at < VALID_FOR else None


def record(proof_key: str) -> None:
    now = time.time()
    proofs = {k: at for k, at in _load().items() if now - at < VALID_FOR}
    proofs[proof_key] = now
    write_atomic(state_dir() / PROOFS_FILE, json.dumps(proofs))
