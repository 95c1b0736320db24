"""The one sequence every scenario goes through:
preflight, provision, baseline, inject, confirm, hand over, check, solve, teardown.

`start` runs preflight..hand over; `verify` runs preflight..confirm, solve, check and teardown
and fails loudly on any deviation. Any exception or Ctrl-C during `start` or `verify` tears
down what was provisioned, so an interrupted run leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from harness import proofs, state
from harness.catalog import Entry, find
from harness.errors import BreakfixError
from harness.faults import Fault, FaultContext, build
from harness.grading.context import LabContext
from harness.grading.grade import Grade
from harness.grading.runner import run_checks
from harness.manifest import FakeFix, ScenarioManifest
from harness.runtime import Runtime
from harness.runtime.docker import ComposeStack, DockerRuntime

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
        self.workspace = state.instance_dir(self.instance) / "workspace"

    @cached_property
    def faults(self) -> list[Fault]:
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
        """Runtimes for this entry, built on the workspace copy so the learner's edits are live."""
        found: list[Runtime] = []
        if self.is_scenario and "docker" in self.scenario.requires:
            found.append(ComposeStack(DockerRuntime(self.instance), self.workspace / self.scenario.stack))
        if self.is_scenario and "kind" in self.scenario.requires:
            from harness.runtime.kind import KindRuntime  # the kubernetes client loads only for kind scenarios

            found.append(KindRuntime(self.instance, self.workspace / self.scenario.stack))
        if self.is_scenario and {"aws", "terraform"} & set(self.scenario.requires):
            from harness.runtime.aws import AwsRuntime

            found.append(AwsRuntime(self.instance))  # the terraform backend lives in the emulator
        if self.is_scenario and "terraform" in self.scenario.requires:
            found.append(self.terraform_runtime())
        if not self.is_scenario:
            from harness.runtime.sandbox import SandboxRuntime  # a lab's code runs in sandbox containers

            found.append(SandboxRuntime(self.instance))
        return found

    def terraform_runtime(self) -> TerraformRuntime:
        from harness.runtime.terraform import TerraformRuntime

        stack = Path(self.scenario.stack).parent
        spec = self.scenario.terraform
        return TerraformRuntime(self.instance, self.workspace / stack, self.entry.directory / stack, spec.workspaces, spec.state_key)

    def context(self) -> LabContext:
        return LabContext(self.instance, self.entry, self.workspace)

    def fault_context(self) -> FaultContext:
        return FaultContext(
            DockerRuntime(self.instance), self.entry.directory, state.instance_dir(self.instance) / "faults", self.workspace,
            self.runtimes(),
        )

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
        return run_checks(self.context(), self.entry.checks_dir, only=only, junit=junit)

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
            deadline = time.monotonic() + confirm.timeout
            while True:
                grade = self.grade(only=set(confirm.failing))
                still_passing = [c for c in confirm.failing if grade.outcome_of(c) != "failed"]
                if not still_passing:
                    return grade
                if time.monotonic() > deadline:
                    raise BreakfixError(
                        f"the fault did not show within {confirm.timeout:.0f}s: still passing or not run: "
                        f"{', '.join(still_passing)}. The scenario is broken; please report it."
                    )
                self.reporter.progress(f"symptom not visible yet ({', '.join(still_passing)}), retrying")
                time.sleep(confirm.interval)

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

    @contextmanager
    def torn_down_on_failure(self) -> Iterator[None]:
        """On any exception, including KeyboardInterrupt, remove what was provisioned, then re-raise."""
        try:
            yield
        except BaseException:
            self.reporter.step("cleanup", "removing everything the run created")
            try:
                self.teardown()
            finally:
                state.clear(self.instance)
            raise

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
        active = state.load_active()
        if active and active.instance != self.instance:
            raise BreakfixError(f"{active.entry_id} is still running: `breakfix stop` first")
        record = state.InstanceState(instance=self.instance, entry_id=self.entry.id, kind=self.entry.kind)
        state.save(record)
        with self.torn_down_on_failure():
            self.teardown()  # anything left from an earlier run of the same id
            self.bring_up_broken(reuse_baseline=reuse_baseline)
        record.phase = "running"
        record.handed_over_at = time.time()
        state.save(record)
        return record

    def reset(self, record: state.InstanceState) -> None:
        """Re-provision and re-inject, keeping the timer and the hints already used."""
        with self.torn_down_on_failure():
            self.teardown()
            self.bring_up_broken(reuse_baseline=True)
        record.phase = "running"
        state.save(record)

    def stop(self) -> None:
        try:
            self.teardown()
        finally:
            state.clear(self.instance)

    def verify(self, *, fakes: bool = False) -> VerifyReport:
        """Prove the entry: healthy passes, broken fails, solution passes, fakes fail, nothing left."""
        report = VerifyReport(self.entry.id)
        started = time.monotonic()
        active = state.load_active()
        if active and active.instance == self.instance and active.phase == "running":
            raise BreakfixError(f"{self.instance} is in use by a learner: `breakfix stop` first")
        try:
            with self.torn_down_on_failure():
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
        finally:
            state.clear(self.instance)
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
    record = state.require_active()
    return Lifecycle(find(record.entry_id)), record


def context_for_active() -> LabContext:
    return for_active()[0].context()
