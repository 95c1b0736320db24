"""Instance state on disk: one file per instance, a pointer to the active one, locks around both.

Layout under the state dir:

    active.json                  the pointer: which instance the CLI's check/hint/status/stop act on
    instances/<id>/state.json    that instance's record (schema_version, phase, owner, attempts, hints)
    instances/<id>/workspace/    what the learner edits
    locks/<id>.lock              held by lifecycle work: exclusive for start/reset/stop/verify, shared by check
    locks/<id>.state             held for each read-modify-write of the record (an attempt, a hint)
    locks/active.lock            held while the pointer is claimed or released

Lock files live outside instances/ and are never deleted: a process waiting on a lock another
one unlinked would hold a lock nobody else sees. Files are replaced atomically (write, rename),
so a reader never sees half a file and needs no lock. A record is deleted only by the teardown
that proved its instance's objects gone (`forget`), and the pointer is released only by the
instance it points at, so no command can orphan another instance.

A record whose phase is not "running" names its owner (pid, process start time, boot id): while
that process lives the instance is being worked on; once it is gone (SIGKILL, power loss) the
instance is abandoned, half built or half removed, and is never graded.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness import procs
from harness.errors import BreakfixError
from harness.paths import state_dir
from harness.validation import problems

SCHEMA_VERSION = 2
ACTIVE_FILE = "active.json"
STATE_FILE = "state.json"
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
MAX_STATE_BYTES = 1 << 20  # a record is a few KB; anything bigger is not ours
Phase = Literal["provisioning", "running", "tearing-down"]


class CheckRecord(BaseModel):
    at: float
    passed: int = Field(ge=0)
    failed: int = Field(ge=0)


def boot_id() -> str:
    try:
        return BOOT_ID.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""


def _process_start(pid: int) -> str:
    """The process's start time in clock ticks since boot: with the boot id, it tells a reused pid apart."""
    fields = procs.stat_fields(pid)
    return fields[19] if fields else ""  # field 22 (a zombie's too: it still holds the pid)


class Owner(BaseModel):
    """The process building or removing an instance."""

    model_config = ConfigDict(extra="forbid")
    pid: int = Field(gt=0)
    started: str
    boot_id: str

    @classmethod
    def me(cls) -> Owner:
        return cls(pid=os.getpid(), started=_process_start(os.getpid()), boot_id=boot_id())

    def alive(self) -> bool:
        if self.boot_id != boot_id():
            return False  # the machine rebooted since: every process of that boot is gone
        return _process_start(self.pid) == self.started if self.started else procs.exists(self.pid)


class InstanceState(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_version: Literal[2] = 2  # SCHEMA_VERSION; a record of another version is not read as this one
    instance: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    entry_id: str = Field(min_length=1, max_length=200)
    kind: str = Field(pattern="^(scenario|lab)$")
    started_at: float = Field(default_factory=time.time)
    handed_over_at: float | None = None
    hints_used: int = Field(default=0, ge=0, le=1000)
    attempts: list[CheckRecord] = Field(default_factory=list)
    solved_at: float | None = None
    phase: Phase = "provisioning"
    owner: Owner | None = None

    @property
    def elapsed(self) -> float:
        return time.time() - (self.handed_over_at or self.started_at)

    @property
    def abandoned(self) -> bool:
        """Half built or half removed by a process that is gone: to be cleaned up, never graded."""
        return self.phase != "running" and (self.owner is None or not self.owner.alive())

    def describe(self) -> str:
        """The phase in words, for `status` and for the refusals of `check`."""
        if self.phase == "running":
            return "running"
        doing = "start" if self.phase == "provisioning" else "stop"
        if not self.abandoned:
            assert self.owner is not None
            return f"{'starting' if doing == 'start' else 'stopping'} (process {self.owner.pid})"
        who = f"process {self.owner.pid}" if self.owner else "its process"
        return (f"{doing} interrupted ({who} is gone; the system may be half {'built' if doing == 'start' else 'removed'}): "
                f"`breakfix stop` or `breakfix start {self.entry_id}` cleans it up")


# -- files ----------------------------------------------------------------------------------------

def instances_root() -> Path:
    return state_dir() / "instances"


def instance_dir(instance: str) -> Path:
    return instances_root() / instance


def state_file(instance: str) -> Path:
    return instance_dir(instance) / STATE_FILE


def unwritable(path: Path, exc: OSError) -> BreakfixError:
    return BreakfixError(
        f"cannot write {path}: {exc.strerror or exc}. Make {state_dir()} writable "
        "(or point BREAKFIX_STATE_DIR at a writable directory) and run the command again"
    )


def write_atomic(path: Path, text: str) -> None:
    """Write then rename: a reader, a Ctrl-C or a power loss never sees half a file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
                stream.flush()
                os.fsync(stream.fileno())  # the rename must not land before the data does
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise unwritable(path, exc) from None


def _read_text(path: Path) -> str | None:
    """The file's text; None if it does not exist; a clear error for anything else."""
    fix = "`breakfix stop --force` clears it"
    try:
        if path.stat().st_size > MAX_STATE_BYTES:
            raise BreakfixError(f"{path}: unreadable instance state (larger than {MAX_STATE_BYTES} bytes); {fix}")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise BreakfixError(f"{path}: unreadable instance state (a directory, not a file); {fix}") from None
    except UnicodeDecodeError as exc:
        raise BreakfixError(f"{path}: unreadable instance state (not UTF-8 at byte {exc.start}); {fix}") from None
    except OSError as exc:
        raise BreakfixError(f"{path}: unreadable instance state ({exc.strerror or exc}); {fix}") from None


def _parse(path: Path, text: str) -> InstanceState:
    try:
        return InstanceState.model_validate_json(text)
    except ValidationError as exc:
        raise BreakfixError(f"{path}: unreadable instance state ({problems(exc, top='the file')}); "
                            "`breakfix stop --force` clears it") from None


def load(instance: str) -> InstanceState | None:
    """The instance's record, validated; None if it has none."""
    path = state_file(instance)
    text = _read_text(path)
    return None if text is None else _parse(path, text)


def save(record: InstanceState) -> None:
    with _locked(f"{record.instance}.state"):
        write_atomic(state_file(record.instance), record.model_dump_json(indent=2))


def update(instance: str, change: Callable[[InstanceState], None]) -> InstanceState:
    """Locked read-modify-write: concurrent updates of one record never lose each other."""
    with _locked(f"{instance}.state"):
        record = load(instance)
        if record is None:
            raise BreakfixError(f"{instance} is no longer running (stopped meanwhile?): `breakfix status`")
        change(record)
        write_atomic(state_file(instance), record.model_dump_json(indent=2))
        return record


def record_attempt(instance: str, passed: int, failed: int, *, solved: bool) -> InstanceState:
    """One `check`: counted once, whatever else runs at the same time."""
    def add(record: InstanceState) -> None:
        now = time.time()
        record.attempts.append(CheckRecord(at=now, passed=passed, failed=failed))
        if solved and record.solved_at is None:
            record.solved_at = now

    return update(instance, add)


def take_hint(instance: str, available: int) -> int | None:
    """The number (1-based) of the next hint, now counted as used; None when all are used."""
    taken: list[int] = []

    def take(record: InstanceState) -> None:
        if record.hints_used < available:
            record.hints_used += 1
            taken.append(record.hints_used)

    update(instance, take)
    return taken[0] if taken else None


def set_phase(instance: str, phase: Phase, *, handed_over: bool = False) -> InstanceState:
    """Enter a phase: anything but "running" is owned by this process until it sets the next one."""
    def enter(record: InstanceState) -> None:
        record.phase = phase
        record.owner = None if phase == "running" else Owner.me()
        if handed_over:
            record.handed_over_at = time.time()

    return update(instance, enter)


def forget(instance: str) -> None:
    """Delete the instance's record and workspace; only a teardown that proved everything gone calls this."""
    with _locked("active.lock"):
        try:
            ours = _pointer() == instance
        except BreakfixError:
            ours = False  # an unreadable pointer is not this instance's to remove: `stop --force` is
        if ours:
            _remove(state_dir() / ACTIVE_FILE)
        with _locked(f"{instance}.state"):
            _remove(instance_dir(instance))


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise BreakfixError(f"cannot remove {path}: {exc.strerror or exc}. Make {state_dir()} writable "
                            "and run `breakfix stop` again: until then the instance counts as present") from None


# -- the active pointer ---------------------------------------------------------------------------

def _pointer() -> str | None:
    """The active instance's id, from active.json (also read in the format of schema 1, a whole record)."""
    path = state_dir() / ACTIVE_FILE
    text = _read_text(path)
    if text is None:
        return None
    try:
        data = json.loads(text)
        instance = data["instance"]
    except (ValueError, TypeError, KeyError, RecursionError):  # RecursionError: JSON nested beyond what json.loads takes
        raise BreakfixError(f"{path}: unreadable instance state (not a pointer to an instance); "
                            "`breakfix stop --force` clears it") from None
    if not isinstance(instance, str) or not instance or "/" in instance or instance.startswith("."):
        raise BreakfixError(f"{path}: unreadable instance state (instance: {instance!r}); `breakfix stop --force` clears it")
    if "schema_version" not in data and "entry_id" in data and not state_file(instance).exists():
        _migrate_v1(data)
    return instance


def _migrate_v1(data: dict[str, object]) -> None:
    """Schema 1 kept the whole record in active.json: move it to the instance's own file."""
    data = {**data, "schema_version": SCHEMA_VERSION}
    if data.get("phase") == "provisioning":
        data["owner"] = None  # schema 1 named no owner: a start it recorded is long gone
    path = state_file(str(data["instance"]))
    record = _parse(path, json.dumps(data))
    write_atomic(path, record.model_dump_json(indent=2))
    write_atomic(state_dir() / ACTIVE_FILE, json.dumps({"schema_version": SCHEMA_VERSION, "instance": record.instance}))


def claim_active(record: InstanceState) -> InstanceState | None:
    """Make `record`'s instance the active one, saving `record` if the instance has no record yet;
    returns the other instance instead if another one is active. The record is written before the
    pointer, so the pointer never names an instance without one."""
    with _locked("active.lock"):
        current = _pointer()
        if current and current != record.instance:
            other = load(current)
            if other is not None:
                return other
        if load(record.instance) is None:
            save(record)
        write_atomic(state_dir() / ACTIVE_FILE, json.dumps({"schema_version": SCHEMA_VERSION, "instance": record.instance}))
        return None


def active_instance() -> str | None:
    """The id the pointer names, even if its record is unreadable (so `stop --force` can tear it down)."""
    return _pointer()


def load_active() -> InstanceState | None:
    instance = _pointer()
    return None if instance is None else load(instance)


def require_active() -> InstanceState:
    record = load_active()
    if record is None:
        raise BreakfixError("nothing is running: `breakfix list`, then `breakfix start <id>`")
    return record


def drop_pointer() -> None:
    """`stop --force`: remove an active.json that cannot be read, whatever it is (file, directory, bytes)."""
    with _locked("active.lock"):
        _remove(state_dir() / ACTIVE_FILE)


# -- locks ----------------------------------------------------------------------------------------

def _lock_file(name: str) -> int:
    directory = state_dir() / "locks"
    path = directory / name
    try:
        directory.mkdir(exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        try:
            return os.open(path, os.O_RDONLY | os.O_CLOEXEC)  # flock works on a read-only descriptor too
        except OSError:
            raise unwritable(path, exc) from None


@contextmanager
def _locked(name: str, *, shared: bool = False, wait: bool = True) -> Iterator[bool]:
    """Hold lock `name`; with wait=False, yields False at once if another process holds it."""
    fd = _lock_file(name)
    try:
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing releases the lock


@contextmanager
def instance_lock(instance: str, *, shared: bool = False, busy: Callable[[], None] | None = None) -> Iterator[None]:
    """The lifecycle lock of an instance: grading (shared) never overlaps building or removing it (exclusive).

    `busy` is called when another process holds it; it raises to refuse, or returns to wait."""
    with _held(f"{instance}.lock", shared=shared, busy=busy):
        yield


@contextmanager
def grading_lock(instance: str, *, busy: Callable[[], None]) -> Iterator[None]:
    """One grading run of an instance at a time: the checks drive load through the system, and two
    runs at once would each judge the other's traffic as well as the fix. `busy` as in instance_lock.

    A state dir that cannot hold the lock file grades without taking turns: the grade is still worth
    showing there, and the check says it was not recorded."""
    try:
        os.close(_lock_file(f"{instance}.grading"))
        lockable = True
    except BreakfixError:
        lockable = False
    if not lockable:
        yield
        return
    with _held(f"{instance}.grading", shared=False, busy=busy):
        yield


@contextmanager
def _held(name: str, *, shared: bool, busy: Callable[[], None] | None) -> Iterator[None]:
    with _locked(name, shared=shared, wait=False) as got:
        if got:
            yield
            return
    if busy is not None:
        busy()
    with _locked(name, shared=shared):
        yield
