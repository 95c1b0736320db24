"""Host processes by pid, read from /proc and ended with signals: one copy of what the AWS
emulator, Terraform runs, the state lock's owner and the offline image build each need."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable
from pathlib import Path

from harness.timing import wait_until


def stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat from field 3 (the state) on; None once the process is gone. Split after the
    last ")": the command name before it may hold spaces and parentheses."""
    try:
        return Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace").rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def start_time(pid: int) -> str | None:
    """The kernel's start time of a live pid (field 22, clock ticks since boot): tells a reused pid apart.
    None when it is gone or a zombie."""
    fields = stat_fields(pid)
    return None if fields is None or fields[0] == "Z" else fields[19]


def is_zombie(pid: int) -> bool:
    """Exited and not reaped yet -- or gone: either way it runs no more."""
    fields = stat_fields(pid)
    return fields is None or fields[0] == "Z"


def cmdline(pid: int) -> bytes | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None


def pids() -> list[int]:
    """Every pid /proc lists now (some may be gone by the time they are read)."""
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of a process group."""
    members = []
    for pid in pids():
        fields = stat_fields(pid)
        if fields is not None and fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(pid)
    return members


def exists(pid: int, *, group: bool = False) -> bool:
    """A signal could reach the process (group=True: some member of the process group); another
    user's process exists too."""
    try:
        (os.killpg if group else os.kill)(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def terminate(pid: int, gone: Callable[[], bool], *, group: bool = False, grace: float | None = None, timeout: float = 5.0) -> bool:
    """End a process (group=True: its whole process group): SIGTERM and up to `grace` s to go on its
    own (grace None: no SIGTERM), then SIGKILL, again and again, for up to `timeout` s. True once
    `gone()` says it is gone (the caller knows what gone means: reaped, its group empty, ...)."""

    def send(sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            (os.killpg if group else os.kill)(pid, sig)

    if grace is not None:
        send(signal.SIGTERM)
        if wait_until(gone, grace, every=0.05):
            return True

    def killed() -> bool:
        if gone():
            return True
        send(signal.SIGKILL)
        return False

    return wait_until(killed, timeout, every=0.05)
