"""Where breakfix finds its content and keeps its state."""

from __future__ import annotations

import os
from pathlib import Path

from harness.errors import BreakfixError

PACKAGE_DIR = Path(__file__).resolve().parent


def content_root() -> Path:
    """The directory holding scenarios/, labs/ and infra/.

    An installed wheel carries them inside the package (so grading uses the installed copy and
    edits to a checkout cannot change a grade); a source checkout uses the repository itself.
    """
    override = os.environ.get("BREAKFIX_CONTENT")
    if override:
        return Path(override).resolve()
    packaged = PACKAGE_DIR / "content"
    if packaged.is_dir():
        return packaged
    return PACKAGE_DIR.parent


def state_dir() -> Path:
    """Per-user state: the active instance and its workspace survive the CLI process."""
    override = os.environ.get("BREAKFIX_STATE_DIR")
    base = Path(override) if override else Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state")) / "breakfix"
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BreakfixError(
            f"cannot create the state dir {base}: {exc.strerror or exc}. Make it writable "
            "(or point BREAKFIX_STATE_DIR at a writable directory) and run the command again"
        ) from None
    return base
