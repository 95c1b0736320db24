"""Batch grading: a cohort's submissions of one lab, each graded by the lab's hidden checks from the
installed copy, in its own sandbox instance and its own worker process, several at a time.

A worker process per submission (harness/grading/batch_worker.py), not a thread: a grading run is
pytest in-process, with its own sys.modules, environment and SIGALRM time limit, none of which two
runs can share. Every sandbox object of a submission carries its own instance label
(`grade-<name>-<hash>`), so a worker that is killed -- a hung grader, Ctrl-C -- leaves nothing the
teardown by label does not find.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness import __version__
from harness.catalog import Entry
from harness.errors import BreakfixError
from harness.hashing import hash_tree
from harness.manifest import LabManifest
from harness.sizes import size_bytes

Kind = Literal["directory", "git", "tarball"]
TARBALL_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
SKIPPED_PARTS = frozenset({".git", "__pycache__", ".pytest_cache"})
GRADER_OVERHEAD = 300 * 1024 * 1024  # a worker's own python + pytest + the Docker SDK, measured ~120 MB: doubled
HARD_KILL_GRACE = 60.0  # past check_timeout, the worker's own limit has failed: the host ends it
WORK_DIR = ".work"  # under the output dir: each submission's extracted copy, the one its sandbox mounts


@dataclass(frozen=True)
class Submission:
    """One candidate's submission as given on the command line, before it is unpacked."""

    source: Path
    kind: Kind
    name: str  # unique within the batch: the file names of its results


def kind_of(path: Path) -> Kind:
    """A tarball by its suffix, a git repository by its .git (worktree or bare), else a plain directory."""
    if path.is_file():
        if path.name.endswith(TARBALL_SUFFIXES) or tarfile.is_tarfile(path):
            return "tarball"
        raise BreakfixError(f"{path} is neither a directory, a git repository nor a tarball")
    if not path.is_dir():
        raise BreakfixError(f"{path} does not exist")
    if (path / ".git").exists() or (path / "HEAD").is_file() and (path / "objects").is_dir():
        return "git"
    return "directory"


def base_name(path: Path) -> str:
    name = path.resolve().name
    for suffix in TARBALL_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name.removesuffix(".git")


def submissions(paths: Iterable[Path]) -> list[Submission]:
    """Each path as a Submission, named by its file name made safe (and unique: `alice`, `alice-2`)."""
    result: list[Submission] = []
    taken: set[str] = set()
    for path in paths:
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", base_name(path)).strip("-.") or "submission"
        name, number = stem, 2
        while name in taken:
            name, number = f"{stem}-{number}", number + 1
        taken.add(name)
        result.append(Submission(path, kind_of(path), name))
    return result


def unpack(submission: Submission, target: Path) -> Path:
    """The submission's files under `target` (replaced): a git repository's HEAD as committed, a
    tarball's members (no link or path out of `target`), a directory's files. A tree that holds only
    one folder is that folder (`tar czf alice.tgz alice/`). Returns the workspace to grade."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    if submission.kind == "tarball":
        with tarfile.open(submission.source) as archive:
            archive.extractall(target, filter="data")
    elif submission.kind == "git":
        archived = subprocess.run(
            ["git", "-C", str(submission.source), "archive", "--format=tar", "HEAD"], capture_output=True, check=False
        )
        if archived.returncode != 0:
            raise BreakfixError(f"{submission.source}: `git archive HEAD` failed: {archived.stderr.decode(errors='replace').strip()}")
        with tarfile.open(fileobj=io.BytesIO(archived.stdout)) as archive:
            archive.extractall(target, filter="data")
    else:
        shutil.copytree(submission.source, target, dirs_exist_ok=True, symlinks=True,
                        ignore=shutil.ignore_patterns(*SKIPPED_PARTS))
    root = target
    while True:
        children = [child for child in root.iterdir() if child.name not in SKIPPED_PARTS]
        if len(children) != 1 or not children[0].is_dir() or children[0].is_symlink():
            break
        root = children[0]
    # the sandbox runs the code as `nobody` when root owns the files: everyone must be able to read them
    for path in [root, *root.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | (0o555 if path.is_dir() else 0o444))
    return root


def content_hash(workspace: Path) -> str:
    return str(hash_tree(workspace, skip=lambda parts: bool(SKIPPED_PARTS.intersection(parts))).hexdigest())


def grader_hash(entry: Entry) -> str:
    """What a grade depends on besides the submission: the installed lab (checks, manifest) and breakfix."""
    digest = hash_tree(entry.directory, skip=lambda parts: bool(SKIPPED_PARTS.intersection(parts)))
    digest.update(__version__.encode())
    return str(digest.hexdigest())


def instance_id(name: str, digest: str) -> str:
    """The submission's own sandbox label and container-name prefix (Docker's name rules)."""
    return f"grade-{name[:40].lower()}-{digest[:8]}"


def default_jobs(entry: Entry) -> tuple[int, str]:
    """As many workers as there are cores, fewer when memory for the lab's limit per worker is short;
    with the reason, printed."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    manifest = entry.manifest
    limit = size_bytes(manifest.limits.memory) if isinstance(manifest, LabManifest) else 0
    per_job = limit + GRADER_OVERHEAD
    available = _available_memory()
    by_memory = max(1, available // per_job) if available else cores
    jobs = max(1, min(cores, by_memory))
    reason = f"{cores} cores, {available / 2**30:.1f} GiB available, {per_job / 2**20:.0f} MiB per job" if available else f"{cores} cores"
    return jobs, reason


def _available_memory() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


# -- one submission's result --------------------------------------------------------------------------


@dataclass
class Result:
    """A submission's grade as the summary shows it; `grade` is the worker's Grade.as_dict()."""

    submission: Submission
    content_hash: str
    grade: dict[str, Any]
    seconds: float
    peak_memory_bytes: int | None = None
    cached: bool = False
    junit: Path | None = None
    json_path: Path | None = None

    @property
    def passed(self) -> bool:
        return bool(self.grade.get("passed"))

    @property
    def conditions(self) -> list[dict[str, Any]]:
        return list(self.grade.get("conditions", []))

    def failures(self) -> list[dict[str, Any]]:
        return [c for c in self.conditions if c.get("outcome") in ("failed", "error")]

    def passed_count(self) -> int:
        return sum(1 for c in self.conditions if c.get("outcome") == "passed")

    def as_dict(self) -> dict[str, Any]:
        return {
            "submission": self.submission.name,
            "source": str(self.submission.source),
            "kind": self.submission.kind,
            "content_hash": self.content_hash,
            "passed": self.passed,
            "cached": self.cached,
            "seconds": round(self.seconds, 2),
            "peak_memory_bytes": self.peak_memory_bytes,
            "counts": self.grade.get("counts", {}),
            "failed": [{"id": c["id"], "title": c.get("title", ""), "outcome": c["outcome"], "message": c.get("message", "")}
                       for c in self.failures()],
            "junit": str(self.junit) if self.junit else None,
            "json": str(self.json_path) if self.json_path else None,
        }


def error_grade(entry_id: str, condition: str, title: str, message: str, seconds: float) -> dict[str, Any]:
    """A grade of one error condition: what a worker that could not report ends in."""
    return {"entry": entry_id, "passed": False, "seconds": round(seconds, 3),
            "counts": {"passed": 0, "failed": 0, "error": 1, "skipped": 0},
            "conditions": [{"id": condition, "title": title, "outcome": "error", "message": message, "seconds": round(seconds, 3)}]}


def cached_result(submission: Submission, digest: str, grader: str, json_path: Path, junit: Path) -> Result | None:
    """The result of an earlier run on the same content by the same grader, if its files are all there."""
    try:
        saved = json.loads(json_path.read_text())
    except (OSError, ValueError):
        return None
    if saved.get("content_hash") != digest or saved.get("grader_hash") != grader or not junit.exists():
        return None
    return Result(submission, digest, saved["grade"], float(saved.get("seconds", 0.0)), saved.get("peak_memory_bytes"),
                  cached=True, junit=junit, json_path=json_path)


# -- the batch ----------------------------------------------------------------------------------------


@dataclass
class Batch:
    entry: Entry
    out: Path
    jobs: int
    results: list[Result] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(result.passed for result in self.results)

    def as_dict(self) -> dict[str, Any]:
        passed = sum(1 for result in self.results if result.passed)
        return {
            "entry": self.entry.id,
            "passed": self.passed,
            "jobs": self.jobs,
            "out": str(self.out),
            "seconds": round(self.seconds, 2),
            "counts": {"passed": passed, "failed": len(self.results) - passed,
                       "cached": sum(1 for result in self.results if result.cached)},
            "submissions": [result.as_dict() for result in self.results],
        }


def write_csv(results: list[Result], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["submission", "passed", "passed_conditions", "failed_conditions", "seconds", "peak_memory_mib", "cached"])
        for result in results:
            failed = "; ".join(f"{c['id']}: {c.get('message', '')}" for c in result.failures())
            peak = f"{result.peak_memory_bytes / 2**20:.1f}" if result.peak_memory_bytes else ""
            writer.writerow([result.submission.name, "yes" if result.passed else "no", result.passed_count(), failed,
                             f"{result.seconds:.1f}", peak, "yes" if result.cached else "no"])


class Workers:
    """The live worker processes, so an interrupt can end every one and remove what each left."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.live: dict[str, subprocess.Popen[bytes]] = {}
        self.started: set[str] = set()  # instances whose sandbox objects may exist
        self.stopping = threading.Event()

    def kill_all(self) -> None:
        with self.lock:
            self.stopping.set()
            processes = list(self.live.values())
        for process in processes:
            _end(process, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for process in processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _end(process, signal.SIGKILL)
                process.wait()


def _end(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)  # its own session: the grader and anything it started


def teardown_instance(instance: str) -> None:
    from harness.paths import state_dir
    from harness.runtime.docker import DockerRuntime

    DockerRuntime(instance).teardown()
    shutil.rmtree(state_dir() / "sandbox" / instance, ignore_errors=True)


Notify = Callable[[str, Result | None], None]  # ("started"|"done", result) -- for the progress display


@dataclass(frozen=True)
class Unpacked:
    """A submission ready to grade: the files to grade, their hash, and where its results go."""

    workspace: Path
    digest: str
    json_path: Path
    junit: Path


def prepare(entry: Entry, submission: Submission, out: Path, grader: str, force: bool,
            locate: Callable[[Path], Path] = lambda root: root) -> Unpacked | Result:
    """Unpack and hash the submission (`locate` finds what is graded inside it); a Result when there
    is nothing to run: an earlier grade of the same content, or a submission that cannot be unpacked."""
    json_path, junit = out / f"{submission.name}.json", out / f"{submission.name}.junit.xml"
    work = out / WORK_DIR / submission.name
    try:
        workspace = locate(unpack(submission, work))
        digest = content_hash(workspace)
    except (BreakfixError, OSError, tarfile.TarError) as exc:
        grade = error_grade(entry.id, "submission", "the submission can be unpacked", f"{submission.source}: {exc}", 0.0)
        return finish(Result(submission, "", grade, 0.0, junit=None, json_path=json_path), grader)
    if not force and (earlier := cached_result(submission, digest, grader, json_path, junit)) is not None:
        shutil.rmtree(work, ignore_errors=True)
        return earlier
    junit.unlink(missing_ok=True)
    return Unpacked(workspace, digest, json_path, junit)


def grade_one(entry: Entry, submission: Submission, out: Path, grader: str, force: bool, workers: Workers, notify: Notify) -> Result | None:
    """Unpack, hash, reuse an earlier grade or run a worker; None when the batch is stopping."""
    started = time.monotonic()
    work = out / WORK_DIR / submission.name
    prepared = prepare(entry, submission, out, grader, force)
    if isinstance(prepared, Result):
        return prepared
    workspace, digest, json_path, junit = prepared.workspace, prepared.digest, prepared.json_path, prepared.junit
    instance = instance_id(submission.name, digest)
    worker_json = work.parent / f"{submission.name}.worker.json"
    worker_log = work.parent / f"{submission.name}.worker.log"
    worker_json.unlink(missing_ok=True)
    with workers.lock:
        if workers.stopping.is_set():
            return None
        notify("started", None)
        with worker_log.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "harness.grading.batch_worker", entry.id, instance, str(workspace), str(junit), str(worker_json)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            )
        workers.live[instance] = process
        workers.started.add(instance)
    limit = entry.manifest.check_timeout + HARD_KILL_GRACE
    hung = False
    try:
        process.wait(limit)
    except subprocess.TimeoutExpired:
        hung = True
        _end(process, signal.SIGKILL)
        process.wait()
    finally:
        with workers.lock:
            workers.live.pop(instance, None)
    if workers.stopping.is_set():
        return None
    seconds = time.monotonic() - started
    peak: int | None = None
    if hung:
        grade = error_grade(entry.id, "timeout", "the grading run ends", f"the grading run did not end within {limit:.0f} s and was killed", seconds)
    else:
        try:
            reported = json.loads(worker_json.read_text())
            grade, peak = reported["grade"], reported.get("peak_memory_bytes")
        except (OSError, ValueError, KeyError):
            tail = worker_log.read_text(errors="replace").strip()[-800:] if worker_log.exists() else ""
            grade = error_grade(entry.id, "grader", "the grader reports a result",
                                f"the grading process exited {process.returncode} without a result: {tail}", seconds)
    # whatever the worker left (killed, crashed): its label finds it
    teardown_instance(instance)
    shutil.rmtree(work, ignore_errors=True)
    worker_json.unlink(missing_ok=True)
    worker_log.unlink(missing_ok=True)
    return finish(Result(submission, digest, grade, seconds, peak, junit=junit if junit.exists() else None, json_path=json_path), grader)


def finish(result: Result, grader: str) -> Result:
    """Write the submission's result file (atomically: a re-run never reads half of one) and return it."""
    assert result.json_path is not None
    body = {"submission": result.submission.name, "source": str(result.submission.source), "kind": result.submission.kind,
            "content_hash": result.content_hash, "grader_hash": grader, "seconds": round(result.seconds, 2),
            "peak_memory_bytes": result.peak_memory_bytes, "grade": result.grade}
    partial = result.json_path.with_suffix(".json.partial")
    partial.write_text(json.dumps(body, indent=2))
    os.replace(partial, result.json_path)
    return result


def grade_batch(entry: Entry, paths: list[Path], *, out: Path, jobs: int, force: bool = False, notify: Notify = lambda _e, _r: None) -> Batch:
    """Grade every submission of a lab; a Ctrl-C ends every worker, removes every sandbox object and re-raises."""
    if not isinstance(entry.manifest, LabManifest):
        raise BreakfixError(f"{entry.id} is a scenario: its submissions are workspace archives (harness.grading.batch_scenario)")
    listed = submissions(paths)
    out.mkdir(parents=True, exist_ok=True)
    grader = grader_hash(entry)
    batch = Batch(entry, out, jobs)
    workers = Workers()
    started = time.monotonic()
    by_name: dict[str, Result] = {}
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="grade")
    futures: dict[Future[Result | None], Submission] = {
        pool.submit(grade_one, entry, submission, out, grader, force, workers, notify): submission for submission in listed
    }
    try:
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                result = future.result()
                if result is not None:
                    by_name[result.submission.name] = result
                    notify("done", result)
    except BaseException:
        workers.kill_all()
        pool.shutdown(wait=True, cancel_futures=True)
        for instance in sorted(workers.started):
            teardown_instance(instance)
        shutil.rmtree(out / WORK_DIR, ignore_errors=True)
        raise
    pool.shutdown(wait=True)
    shutil.rmtree(out / WORK_DIR, ignore_errors=True)
    batch.results = [by_name[submission.name] for submission in listed]
    batch.seconds = time.monotonic() - started
    write_summary(batch)
    return batch


def write_summary(batch: Batch) -> None:
    write_csv(batch.results, batch.out / "summary.csv")
    (batch.out / "summary.json").write_text(json.dumps(batch.as_dict(), indent=2))
