"""The active instance: which scenario or lab, since when, hints used, attempts -- kept on disk.

State lives under the user's state dir so `start` in one shell and `check` in another see the
same instance. Writes are atomic (write then rename) so a Ctrl-C never leaves half a file.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from harness.errors import BreakfixError
from harness.paths import state_dir

ACTIVE_FILE = "active.json"


class CheckRecord(BaseModel):
    at: float
    passed: int
    failed: int


class InstanceState(BaseModel):
    instance: str
    entry_id: str
    kind: str
    started_at: float = Field(default_factory=time.time)
    handed_over_at: float | None = None
    hints_used: int = 0
    attempts: list[CheckRecord] = Field(default_factory=list)
    solved_at: float | None = None
    phase: str = "provisioning"

    @property
    def elapsed(self) -> float:
        return time.time() - (self.handed_over_at or self.started_at)


def instances_root() -> Path:
    return state_dir() / "instances"


def instance_dir(instance: str) -> Path:
    return instances_root() / instance


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as stream:
        stream.write(text)
    os.replace(temporary, path)


def save(state: InstanceState) -> None:
    write_atomic(state_dir() / ACTIVE_FILE, state.model_dump_json(indent=2))


def load_active() -> InstanceState | None:
    path = state_dir() / ACTIVE_FILE
    if not path.exists():
        return None
    try:
        return InstanceState.model_validate_json(path.read_text())
    except (ValidationError, json.JSONDecodeError):
        raise BreakfixError(f"{path}: unreadable instance state; `breakfix stop --force` clears it") from None


def require_active() -> InstanceState:
    state = load_active()
    if state is None:
        raise BreakfixError("nothing is running: `breakfix list`, then `breakfix start <id>`")
    return state


def clear(instance: str | None = None) -> None:
    """Forget the active instance and delete its workspace."""
    (state_dir() / ACTIVE_FILE).unlink(missing_ok=True)
    if instance:
        shutil.rmtree(instance_dir(instance), ignore_errors=True)
