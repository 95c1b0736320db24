"""The one sequence every scenario goes through:
preflight, provision, baseline, inject, confirm, hand over, check, solve, teardown.

`start` runs preflight..hand over; `verify` runs preflight..confirm, solve, check and teardown
and fails loudly on any deviation. Any exception or Ctrl-C during `start` or `verify` tears
down what was provisioned, so an interrupted run leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from harness import proofs, registry, state
from harness.catalog import Entry, find
from harness.errors import BreakfixError
from harness.faults import AnyFault, FaultContext, build
from harness.grading.context import InstanceContext
from harness.grading.grade import Grade
from harness.grading.runner import run_checks
from harness.instance import Instance, active
from harness.manifest import FakeFix, ScenarioManifest
from harness.runtime import Runtime
from harness.runtime.docker import INTERRUPTS, ComposeStack, DockerRuntime, connect
from harness.timing import wait_until

if TYPE_CHECKING:
    from harness.runtime.terraform import TerraformRuntime


class Reporter(Protocol):
    def step(self, name: str, detail: str = "") -> None: ...

    def progress(self, message: str) -> None: ...


class Silent:
    def step(self, name: str, detail: str = "") -> None:
        pass

    def progress(self, message: str) -> None:
        pass


@dataclass
class StepTimes:
    steps: list[tuple[str, float]] = field(default_factory=list)

    @contextmanager
    def measure(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.steps.append((name, time.monotonic() - started))


class Lifecycle:
    """Drives one instance of one entry. The instance id is the entry id: one active at a time."""

    def __init__(self, entry: Entry, reporter: Reporter | None = None) -> None:
        self.entry = entry
        self.instance = entry.id
        self.reporter = reporter or Silent()
        self.times = StepTimes()
        self.built = Instance(entry)
        self.workspace = self.built.workspace

    @cached_property
    def faults(self) -> list[AnyFault]:
        """Built on first use: grading a running instance never loads the fault implementations."""
        return [build(spec, index) for index, spec in enumerate(self.scenario.faults)] if self.is_scenario else []

    @property
    def is_scenario(self) -> bool:
        return isinstance(self.entry.manifest, ScenarioManifest)

    @property
    def scenario(self) -> ScenarioManifest:
        assert isinstance(self.entry.manifest, ScenarioManifest)
        return self.entry.manifest

    # -- the pieces ------------------------------------------------------------------------------

    def runtimes(self) -> list[Runtime]:
        """Runtimes for this entry in the registry's order, built on the workspace copy so the learner's edits are live."""
        return list(self.built.runtimes().values())

    def terraform_runtime(self) -> TerraformRuntime:
        from harness.runtime.builtin import terraform
        from harness.runtime.terraform import TerraformRuntime

        runtime = terraform(self.built.setup())
        assert isinstance(runtime, TerraformRuntime)
        return runtime

    def context(self) -> InstanceContext:
        return InstanceContext(self.instance, self.entry, self.workspace, self.built.runtimes())

    def fault_context(self) -> FaultContext:
        return FaultContext(self.instance, self.entry.directory, state.instance_dir(self.instance) / "faults", self.workspace, self.runtimes())

    def env(self) -> dict[str, str]:
        variables = {"BREAKFIX_INSTANCE": self.instance, "BREAKFIX_WORKSPACE": str(self.workspace)}
        for runtime in self.runtimes():
            variables.update(runtime.env())
        return variables

    # -- the sequence ----------------------------------------------------------------------------

    def preflight(self) -> None:
        with self.times.measure("preflight"):
            self.reporter.step("preflight")
            _ = self.faults  # a fault with bad parameters fails here, before anything is provisioned
            self._prepare_workspace()
            problems = [problem for runtime in self.runtimes() for problem in runtime.preflight()]
            if problems:
                raise BreakfixError("preflight failed:\n  - " + "\n  - ".join(problems))

    def _prepare_workspace(self) -> None:
        """A fresh copy of what the learner may edit: the stack of a scenario, the starter of a lab."""
        if self.workspace.exists():
            shutil.rmtree(self.workspace)
        self.workspace.mkdir(parents=True)
        if self.is_scenario:
            stack_dir = (self.entry.directory / self.scenario.stack).parent
            shutil.copytree(stack_dir, self.workspace / stack_dir.relative_to(self.entry.directory))
        else:
            shutil.copytree(self.entry.directory / "starter", self.workspace, dirs_exist_ok=True)

    def provision(self) -> None:
        with self.times.measure("provision"):
            self.reporter.step("provision")
            for runtime in self.runtimes():
                runtime.provision(self.reporter.progress)

    def grade(self, *, only: set[str] | None = None, junit: Path | None = None) -> Grade:
        """Settle, then one grading run, bounded by the manifest's check_timeout."""
        self.settle()
        return run_checks(self.context(), self.entry.checks_dir, only=only, junit=junit, timeout=self.entry.manifest.check_timeout)

    def settle(self) -> None:
        """Wait, bounded and shown, until every change made to the system is live: the runtimes' own
        conditions and the scenario's declared ones (harness.settle); then let each runtime clear what it
        keeps from before the fix (PreparesGrading). A lab's code runs afresh in each check's sandbox:
        nothing of it is in flight."""
        if not self.is_scenario:
            return
        from harness.runtime import PreparesGrading, Settling
        from harness.settle import declared, wait_until_live

        docker = DockerRuntime(self.instance)
        runtimes = self.runtimes()
        conditions = [condition for runtime in runtimes if isinstance(runtime, Settling) for condition in runtime.settle()]
        conditions += declared(self.scenario.settle, lambda spec: docker.probe(spec.service, spec.command, spec.timeout))
        wait_until_live(conditions, self.reporter.progress)
        for runtime in runtimes:
            if isinstance(runtime, PreparesGrading):
                runtime.before_grading()

    def baseline(self, *, reuse: bool = False) -> None:
        """Every check passes on the healthy system; with `reuse`, a proof this machine already holds will do."""
        with self.times.measure("baseline"):
            proof = proofs.key(self.entry.directory, self._image_ids())
            proven_at = proofs.proven_at(proof) if reuse else None
            if proven_at is not None:
                minutes = int(time.time() - proven_at) // 60
                self.reporter.step("baseline", f"reused (passed here {minutes} min ago; --baseline reruns it)")
                return
            self.reporter.step("baseline", "checks must pass on the healthy system")
            grade = self.grade()
            if not grade.passed:
                raise BreakfixError("baseline failed: the healthy system does not pass its checks:\n" + _failures(grade))
            proofs.record(proof)

    def _image_ids(self) -> list[str]:
        """The images the stack runs: a rebuilt image needs a new baseline."""
        return [image for runtime in self.runtimes() if isinstance(runtime, ComposeStack) for image in runtime.image_ids()]

    def inject(self) -> None:
        with self.times.measure("inject"):
            self.reporter.step("inject")
            ctx = self.fault_context()
            for number, fault in enumerate(self.faults, 1):
                self.reporter.progress(f"fault {number}/{len(self.faults)}")  # what it is stays the learner's puzzle
                fault.inject(ctx)

    def confirm(self) -> Grade:
        """Retry the detecting checks until every one of them fails, within the manifest's bound."""
        confirm = self.scenario.confirm
        with self.times.measure("confirm"):
            self.reporter.step("confirm", "the fault must show in the checks")
            still_passing: list[str] = []

            def shown() -> Grade | None:
                nonlocal still_passing
                grade = self.grade(only=set(confirm.failing))
                still_passing = [c for c in confirm.failing if grade.outcome_of(c) != "failed"]
                return None if still_passing else grade

            grade = wait_until(
                shown, confirm.timeout, every=confirm.interval,
                on_wait=lambda: self.reporter.progress(f"symptom not visible yet ({', '.join(still_passing)}), retrying"),
                error=lambda: (f"the fault did not show within {confirm.timeout:.0f}s: still passing or not run: "
                               f"{', '.join(still_passing)}. The scenario is broken; please report it."),
            )
            assert grade is not None  # wait_until returns only a true answer once it has an error to raise
            return grade

    def revert(self) -> None:
        ctx = self.fault_context()
        for fault in reversed(self.faults):
            fault.revert(ctx)

    def run_script(self, script: Path, what: str) -> None:
        """Run a solution or fake-fix script on the host, in the workspace, with the instance's env."""
        self.reporter.progress(f"applying {what}: {script.name}")
        result = subprocess.run(
            ["bash", str(script)],
            check=False,  # the exit code is reported below with the output
            cwd=self.workspace,
            env={**os.environ, **self.env()},
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip()[-2000:]
            raise BreakfixError(f"{what} {script} exited {result.returncode}:\n{output}")

    def solve(self) -> None:
        with self.times.measure("solve"):
            self.reporter.step("solve", "apply the reference fix")
            self.run_script(self.entry.solve_script, "reference solution")

    def teardown(self) -> None:
        with self.times.measure("teardown"):
            self.reporter.step("teardown")
            failures = []
            for runtime in reversed(self.runtimes()):  # dependents first: terraform runs stop before their bucket goes
                try:
                    runtime.teardown()
                except BreakfixError as exc:
                    failures.append(str(exc))  # each runtime's teardown proves nothing of its own is left
            if failures:
                raise BreakfixError("teardown incomplete: " + "; ".join(failures))

    # -- commands built from the pieces -------------------------------------------------------------

    def require_engine(self) -> None:
        """An unreachable engine is said first, before anything is torn down, written or counted."""
        if registry.needs_engine(self.entry.manifest.requires):
            connect(timeout=10)

    @contextmanager
    def torn_down_on_failure(self, kept: str) -> Iterator[None]:
        """On any exception, including KeyboardInterrupt, remove what was provisioned, then re-raise.

        The cleanup itself is not interruptible (a second Ctrl-C is noted, not obeyed: a cleanup cut
        short is what leaves containers behind). The instance's state goes only once the teardown has
        proved everything gone; if it cannot, the error says so and what is left stays known (`kept`)."""
        try:
            yield
        except BaseException as failure:
            self.reporter.step("cleanup", "removing everything the run created")
            with _interrupts_noted(lambda: self.reporter.progress("still cleaning up: one moment")):
                try:
                    self.teardown()
                except Exception as exc:  # noqa: BLE001 -- whatever stopped the teardown, the user must hear it did not finish
                    if isinstance(failure, KeyboardInterrupt):
                        raise KeyboardInterrupt(f"the cleanup did not finish ({exc}); {kept}") from None
                    raise BreakfixError(f"{failure}\nthe cleanup did not finish either ({exc}); {kept}") from None
                state.forget(self.instance)
            raise

    def _wait_for_other(self) -> None:
        self.reporter.progress(f"waiting for another breakfix command on {self.instance} to finish")

    @contextmanager
    def _owned(self, phase: state.Phase, claim: Callable[[], None] = lambda: None) -> Iterator[None]:
        """The instance lock, then `claim` and `phase` owned by this process, with no moment between
        them where an interrupt could leave the record claimed but nobody cleaning it up."""
        with state.instance_lock(self.instance, busy=self._wait_for_other):
            held = signal.pthread_sigmask(signal.SIG_BLOCK, INTERRUPTS)
            try:
                claim()
                state.set_phase(self.instance, phase)
                with self.torn_down_on_failure(f"its state is kept: `breakfix stop` finishes removing {self.instance}"):
                    signal.pthread_sigmask(signal.SIG_SETMASK, held)  # an interrupt held back so far lands here
                    yield
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)

    def bring_up_broken(self, *, reuse_baseline: bool) -> Grade | None:
        """preflight, provision, baseline, inject, confirm -- shared by start, reset and verify.
        A lab's broken state is its starter code: nothing to baseline or inject."""
        self.preflight()
        self.provision()
        if not self.is_scenario:
            return None
        self.baseline(reuse=reuse_baseline)
        self.inject()
        return self.confirm()

    def start(self, *, reuse_baseline: bool = True) -> state.InstanceState:
        """Build the instance and hand it over: on return it is the learner's, on any exit before that it is gone."""
        self.require_engine()
        active = state.load_active()
        if active and active.instance != self.instance and active.abandoned:
            self.reporter.step("cleanup", f"{active.entry_id}: {active.describe()}")
            Lifecycle(find(active.entry_id), self.reporter).stop()
        fresh = state.InstanceState(instance=self.instance, entry_id=self.entry.id, kind=self.entry.kind, owner=state.Owner.me())

        def claim() -> None:
            other = state.claim_active(fresh)
            if other is not None:
                raise BreakfixError(f"{other.entry_id} is still {other.describe()}: `breakfix stop` first")

        with self._owned("provisioning", claim):
            self.teardown()  # anything left from an earlier run of the same id
            state.save(fresh)  # a new run: a new clock, no attempts
            self.bring_up_broken(reuse_baseline=reuse_baseline)
            return state.set_phase(self.instance, "running", handed_over=True)

    def handed_over(self) -> bool:
        """Whether the instance is the learner's (so an interrupt after this point removes nothing)."""
        try:
            record = state.load(self.instance)
        except BreakfixError:
            return False
        return record is not None and record.phase == "running"

    def reset(self, record: state.InstanceState) -> None:
        """Re-provision and re-inject, keeping the timer and the hints already used."""
        self.require_engine()
        with self._owned("provisioning"):
            self.teardown()
            self.bring_up_broken(reuse_baseline=True)
            state.set_phase(self.instance, "running")

    def stop(self) -> None:
        """Tear down, then forget: the record stays until the teardown proved nothing is left."""
        self.require_engine()
        with state.instance_lock(self.instance, busy=self._wait_for_other):
            with suppress(BreakfixError):  # no readable record (`stop --force`) or none writable: forget() below says which
                state.set_phase(self.instance, "tearing-down")
            try:
                self.teardown()
            except KeyboardInterrupt:
                raise KeyboardInterrupt(f"{self.instance} is only partly removed: `breakfix stop` again finishes it") from None
            state.forget(self.instance)

    @contextmanager
    def graded(self) -> Iterator[state.InstanceState]:
        """The instance held still while it is graded: no start, reset or stop of it runs meanwhile
        (they take the lock exclusively, a check shares it), only a complete instance is graded, and
        checks of it run one after another (state.grading_lock)."""
        self.require_engine()

        def busy() -> None:
            record = state.load(self.instance)
            doing = record.describe() if record is not None and record.phase != "running" else "being changed by another breakfix command"
            raise BreakfixError(f"{self.instance} is {doing}: `breakfix check` again once it is done")

        with state.instance_lock(self.instance, shared=True, busy=busy):
            record = state.load(self.instance)
            if record is None:
                raise BreakfixError(f"{self.instance} is no longer running: `breakfix status`")
            if record.phase != "running":
                raise BreakfixError(f"{self.instance} cannot be graded: {record.describe()}")
            with state.grading_lock(self.instance, busy=lambda: self.reporter.progress(f"waiting for another check of {self.instance} to finish")):
                yield record

    @contextmanager
    def unused(self) -> Iterator[None]:
        """The instance held exclusively by a run of its own (verify, batch grading): refused while
        another command holds it or a learner's instance of the entry exists."""

        def busy() -> None:
            raise BreakfixError(f"{self.instance} is in use by another breakfix command (a check, start or stop): try again later")

        with state.instance_lock(self.instance, busy=busy):
            existing = state.load(self.instance)
            if existing is not None and not existing.abandoned:
                raise BreakfixError(f"{self.instance} is in use by a learner: `breakfix stop` first")
            yield

    def verify(self, *, fakes: bool = False) -> VerifyReport:
        """Prove the entry: healthy passes, broken fails, solution passes, fakes fail, nothing left."""
        report = VerifyReport(self.entry.id)
        started = time.monotonic()
        self.require_engine()
        with self.unused():
            try:
                with self.torn_down_on_failure(f"`breakfix verify {self.instance}` again removes it first"):
                    self.teardown()
                    self.bring_up_broken(reuse_baseline=False)  # verify proves the baseline itself, every time
                    if not self.is_scenario:
                        self.starter_fails()
                    self.solve()
                    with self.times.measure("check"):
                        self.reporter.step("check", "the reference solution must pass every check")
                        grade = self.grade()
                    if not grade.passed:
                        raise BreakfixError("the reference solution does not pass:\n" + _failures(grade))
                    if fakes:
                        for fake in self.entry.manifest.fake_fixes:
                            report.fakes.append((fake.id, self._fake_fails(fake)))
                    self.teardown()
                state.forget(self.instance)  # its workspace, and an abandoned learner record of this id
            finally:
                report.steps = self.times.steps
                report.seconds = time.monotonic() - started  # wall time: a fake's step encloses re-provisioning steps
        return report

    def starter_fails(self) -> None:
        """A lab's starter must fail its checks, or the grader grades nothing."""
        with self.times.measure("starter"):
            self.reporter.step("starter", "the starter code must fail the checks")
            if self.grade().passed:
                raise BreakfixError("the starter passes every check: the checks grade nothing; make starter/ incomplete")

    def _fake_fails(self, fake: FakeFix) -> list[str]:
        """Re-break the system, apply a fake fix, and require the checks to fail; returns the failing checks."""
        with self.times.measure(f"fake:{fake.id}"):
            self.reporter.step(f"fake fix {fake.id}", fake.summary)
            self.teardown()
            self.bring_up_broken(reuse_baseline=True)  # this verify run has just proven it
            if not self.is_scenario:
                self.run_script(self.entry.solve_script, "reference solution")  # a lab's fake is a wrong variant of it
            self.run_script(self.entry.directory / fake.script, f"fake fix {fake.id}")
            grade = self.grade()
            if grade.passed:
                raise BreakfixError(f"fake fix {fake.id!r} ({fake.summary}) PASSES the checks: the checks must reject it")
            return [c.id for c in grade.conditions if c.outcome in ("failed", "error")]


@dataclass
class VerifyReport:
    entry_id: str
    steps: list[tuple[str, float]] = field(default_factory=list)
    fakes: list[tuple[str, list[str]]] = field(default_factory=list)
    seconds: float = 0.0


def _failures(grade: Grade) -> str:
    return "\n".join(f"  - {c.title}: {c.message}" for c in grade.conditions if c.outcome in ("failed", "error"))


def for_active() -> tuple[Lifecycle, state.InstanceState]:
    running, record = active()
    return Lifecycle(running.entry), record


def force_stop(reporter: Reporter) -> str:
    """`stop --force`: the active instance torn down and forgotten even when its state cannot be read.
    With no readable pointer, every instance that has a record is the one it might have named."""
    try:
        instance = state.active_instance()
    except BreakfixError:
        state.drop_pointer()
        candidates = sorted(path.parent.name for path in state.instances_root().glob(f"*/{state.STATE_FILE}"))
    else:
        candidates = [instance] if instance else []
    for candidate in candidates:
        try:
            entry = find(candidate)  # the instance id is its entry id
        except BreakfixError:
            with state.instance_lock(candidate):
                DockerRuntime(candidate).teardown()  # an entry no longer in the catalog: what carries its label
                state.forget(candidate)
        else:
            Lifecycle(entry, reporter).stop()
    return f"stopped {', '.join(candidates)}: nothing left behind." if candidates else "no instance left: the state is cleared."


@contextmanager
def _interrupts_noted(note: Callable[[], None]) -> Iterator[None]:
    """Ctrl-C and SIGTERM call `note` instead of interrupting (handlers can only be set in the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in INTERRUPTS}
    for signum in INTERRUPTS:
        signal.signal(signum, lambda _signum, _frame: note())
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
