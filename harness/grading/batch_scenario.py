"""Batch grading of a scenario from workspace archives: each submission is the stack folder a candidate
edited (`tar -C "$BREAKFIX_WORKSPACE" -czf alice.tgz stack`, or a directory or git repository of it).

For each submission the scenario is provisioned for real and broken as it was handed over (preflight,
provision, the baseline proof, inject, confirm), then the candidate's files replace the workspace's,
the services that mount a changed file are restarted (a process rereads its config and code when it
starts, as it does on the reload the candidate ran by hand), and the scenario's installed checks grade
it; then everything is torn down.

One after another, never in parallel: an instance of a scenario is named by its id and publishes the
scenario's fixed ports (502-storm: 127.0.0.1:8080), so two gradings of one entry cannot run at once.

Only what lives in files can be graded this way. A fix that is live state -- Terraform state and locks
in the emulator, objects applied to a cluster, IAM policies, a resolver's cache (each fault kind says
what it changes outside the files) -- is refused with a clear message: it can only be graded
on the candidate's running instance, by `breakfix check` there.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Protocol

from harness import faults, state
from harness.catalog import Entry
from harness.errors import BreakfixError
from harness.grading.batch import (
    SKIPPED_PARTS,
    WORK_DIR,
    Batch,
    Notify,
    Result,
    Unpacked,
    error_grade,
    finish,
    grader_hash,
    prepare,
    submissions,
    write_summary,
)
from harness.grading.grade import Grade
from harness.manifest import ScenarioManifest

if TYPE_CHECKING:
    from harness.runtime.compose import Stack

# what each requirement keeps outside the workspace's files: why such a scenario cannot be graded from them
LIVE_STATE = {
    "terraform": "Terraform state, its lock and the resources it applied",
    "aws": "resources in the AWS emulator",
    "aws-iam": "users, roles and policies in the IAM emulator",
    "kind": "objects applied to the Kubernetes cluster",
}


def scenario(entry: Entry) -> ScenarioManifest:
    """The entry's manifest when its fix can be graded from a workspace archive; else a one-line reason."""
    manifest = entry.manifest
    assert isinstance(manifest, ScenarioManifest)
    live = [LIVE_STATE[name] for name in manifest.requires if name in LIVE_STATE]
    live += dict.fromkeys(fault.live_state for index, spec in enumerate(manifest.faults) if (fault := faults.build(spec, index)).live_state)
    if live or not manifest.stack.endswith((".yaml", ".yml")):
        what = "; ".join(live) or "its stack is not a compose file"
        raise BreakfixError(f"{entry.id} cannot be graded from a workspace archive: its fix is live state ({what}), not files. "
                            f"Grade it on the candidate's running instance: `breakfix check --junit FILE` there")
    return manifest


def published_ports(entry: Entry) -> list[int]:
    from harness.runtime.compose import load_stack

    stack = load_stack(entry.directory / scenario(entry).stack)
    return sorted({host for service in stack.services.values() for host, _, _ in service.published()})


def locate_stack(manifest: ScenarioManifest, root: Path) -> Path:
    """The candidate's stack folder in an unpacked submission: the archive of the workspace (holding
    `stack/compose.yaml`) or of the stack folder itself (holding `compose.yaml`)."""
    stack = PurePosixPath(manifest.stack)
    if (root / stack).is_file():
        return root / stack.parent
    if (root / stack.name).is_file():
        return root
    raise BreakfixError(f"it holds neither {stack} nor {stack.name}: archive the workspace's stack folder, "
                        f'e.g. `tar -C "$BREAKFIX_WORKSPACE" -czf NAME.tgz {stack.parent}`')


@dataclass
class Applied:
    changed: list[str] = field(default_factory=list)  # paths in the stack folder written or removed
    ignored: list[str] = field(default_factory=list)  # what the submission holds that grading does not take, and why


def _files(folder: Path) -> dict[str, Path]:
    return {path.relative_to(folder).as_posix(): path for path in folder.rglob("*")
            if not SKIPPED_PARTS.intersection(path.relative_to(folder).parts) and (path.is_symlink() or path.is_file())}


def apply_files(candidate: Path, stack_dir: Path, stack_file: str) -> Applied:
    """Make the workspace's stack folder hold the candidate's files: new and changed ones written, the
    ones they removed removed. A file is rewritten in place (same inode), so a bind mount of that one file
    sees it. Not taken: the stack file (the containers are the scenario's, as in a running instance, where
    editing compose.yaml changes nothing) and links (a link could reach outside the workspace)."""
    applied = Applied()
    theirs, ours = _files(candidate), _files(stack_dir)
    for name, path in sorted(theirs.items()):
        if path.is_symlink():
            applied.ignored.append(f"{name} (a link)")
            continue
        if name == stack_file:
            if name not in ours or path.read_bytes() != ours[name].read_bytes():
                applied.ignored.append(f"{name} (the stack definition is the scenario's)")
            continue
        target = stack_dir / name
        if name in ours and not ours[name].is_symlink() and path.read_bytes() == ours[name].read_bytes():
            continue
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.is_symlink():
            target.unlink()
        target.parent.mkdir(parents=True, exist_ok=True)
        existed = target.exists()
        target.write_bytes(path.read_bytes())
        if not existed:
            target.chmod((path.stat().st_mode & 0o755) | 0o644)
        applied.changed.append(name)
    for name in sorted(set(ours) - set(theirs)):
        if name != stack_file:
            (stack_dir / name).unlink()
            applied.changed.append(name)
    return applied


def services_to_restart(stack: Stack, changed: list[str]) -> list[str]:
    """In start order: each service that bind-mounts a changed path, and every service depending on one
    of those (nginx resolves its upstreams when it starts: a restarted backend may come back at another
    address)."""
    touched: set[str] = set()
    for name, service in stack.services.items():
        for source in service.host_paths():
            if source.startswith("/"):
                continue  # a host path outside the stack: never the candidate's
            mount = os.path.normpath(source)
            if any(mount == "." or path == mount or path.startswith(mount + "/") for path in changed):
                touched.add(name)
    grown = True
    while grown:
        dependents = {name for name, service in stack.services.items() if name not in touched and touched.intersection(service.depends_on)}
        touched |= dependents
        grown = bool(dependents)
    return [name for wave in stack.start_levels() for name in wave if name in touched]


Progress = Callable[[str], None]


class Steps:
    """The lifecycle's steps as lines naming the submission they belong to."""

    def __init__(self, name: str, progress: Progress) -> None:
        self.name, self.out = name, progress

    def step(self, name: str, detail: str = "") -> None:
        self.out(f"{self.name}: {name} {detail}".rstrip())

    def progress(self, message: str) -> None:
        self.out(f"{self.name}:   {message}")


class ScenarioRun(Protocol):
    """What grading a submission drives of the lifecycle (harness.lifecycle.Lifecycle, which the CLI
    passes in: grading sits below the lifecycle and never imports it)."""

    instance: str
    workspace: Path

    def require_engine(self) -> None: ...

    def teardown(self) -> None: ...

    def bring_up_broken(self, *, reuse_baseline: bool) -> object: ...

    def grade(self, *, junit: Path | None = None) -> Grade: ...

    def torn_down_on_failure(self, kept: str) -> AbstractContextManager[None]: ...

    def unused(self) -> AbstractContextManager[None]: ...


Lifecycles = Callable[[Entry, Steps], ScenarioRun]


def stack_peak_memory(instance: str) -> int | None:
    """The sum of each of the instance's containers' own peak memory (cgroup v1 keeps it: `max_usage`),
    an upper bound of the stack's peak at any one moment; None where the engine does not report it."""
    from harness.runtime.docker import DockerRuntime, in_parallel

    docker = DockerRuntime(instance)
    containers = {c.name: c for c in docker.client.containers.list(filters={"label": f"breakfix.instance={instance}"})}

    def peak(name: str) -> int | None:
        usage = (containers[name].stats(stream=False, one_shot=True).get("memory_stats") or {}).get("max_usage")
        return int(usage) if usage else None

    peaks = in_parallel(peak, sorted(containers))
    return sum(p for p in peaks if p is not None) if peaks and None not in peaks else None


def grade_submission(entry: Entry, prepared: Unpacked, name: str, progress: Progress, lifecycles: Lifecycles) -> tuple[dict[str, object], int | None]:
    """One submission on the real scenario, provisioned for it and removed after it. An error bringing up
    the scenario itself is raised (no submission could be graded: the batch stops); one caused by the
    submission's files is its failing grade. Returns the grade and the stack's peak memory."""
    from docker.errors import DockerException

    from harness.runtime.compose import load_stack
    from harness.runtime.docker import DockerRuntime

    manifest = scenario(entry)
    stack = PurePosixPath(manifest.stack)
    lifecycle = lifecycles(entry, Steps(name, progress))
    started = time.monotonic()
    with lifecycle.torn_down_on_failure(f"`breakfix grade {entry.id}` again removes it first"):
        lifecycle.teardown()
        lifecycle.bring_up_broken(reuse_baseline=True)  # the broken system as it was handed over
        try:
            applied = apply_files(prepared.workspace, lifecycle.workspace / stack.parent, stack.name)
            for ignored in applied.ignored:
                progress(f"{name}:   not applied: {ignored}")
            restart = services_to_restart(load_stack(lifecycle.workspace / stack), applied.changed)
            progress(f"{name}:   {len(applied.changed)} file(s) changed; restarting {', '.join(restart) or 'nothing'}")
            docker = DockerRuntime(lifecycle.instance)
            for service in restart:
                docker.container(service).restart(timeout=10)
        except (BreakfixError, OSError, DockerException) as exc:
            grade = error_grade(entry.id, "apply", "the submission's files are applied and their services restarted", str(exc),
                                time.monotonic() - started)
        else:
            progress(f"{name}: check the system with the submission's files")
            grade = lifecycle.grade(junit=prepared.junit).as_dict()
        try:
            peak = stack_peak_memory(lifecycle.instance)
        except DockerException:
            peak = None  # a container gone meanwhile: the grade stands without its memory
        lifecycle.teardown()
    state.forget(lifecycle.instance)
    return grade, peak


def grade_scenario_batch(entry: Entry, paths: list[Path], *, out: Path, lifecycles: Lifecycles, force: bool = False,
                         notify: Notify = lambda _e, _r: None, progress: Progress = lambda _line: None) -> Batch:
    """Every submission in turn, the instance held as verify holds it (a learner's instance of the entry is never touched)."""
    manifest = scenario(entry)
    held = lifecycles(entry, Steps("", progress))
    held.require_engine()
    listed = submissions(paths)
    out.mkdir(parents=True, exist_ok=True)
    grader = grader_hash(entry)
    batch = Batch(entry, out, jobs=1)
    started = time.monotonic()
    with held.unused():
        try:
            for submission in listed:
                begun = time.monotonic()
                prepared = prepare(entry, submission, out, grader, force, lambda root: locate_stack(manifest, root))
                if isinstance(prepared, Result):
                    result = prepared
                else:
                    notify("started", None)
                    grade, peak = grade_submission(entry, prepared, submission.name, progress, lifecycles)
                    junit = prepared.junit if prepared.junit.exists() else None
                    result = finish(Result(submission, prepared.digest, grade, time.monotonic() - begun, peak, junit=junit,
                                           json_path=prepared.json_path), grader)
                shutil.rmtree(out / WORK_DIR / submission.name, ignore_errors=True)
                batch.results.append(result)
                notify("done", result)
        finally:
            shutil.rmtree(out / WORK_DIR, ignore_errors=True)
    batch.seconds = time.monotonic() - started
    write_summary(batch)
    return batch
