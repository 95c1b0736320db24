"""Runs an entry's checks with pytest in-process and collects one Condition per test."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

from harness.grading import plugin
from harness.grading.context import CONTEXT, InstanceContext
from harness.grading.grade import Condition, Grade, Outcome

PYTEST_INI = Path(__file__).with_name("pytest.ini")


def learner_message(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    """The assertion's own message, without pytest's introspection of the expression."""
    if isinstance(excinfo.value, AssertionError):
        text = str(excinfo.value)
        return text.split("\nassert ")[0].strip() or "condition not met"
    return f"check could not run: {type(excinfo.value).__name__}: {excinfo.value}".strip()


class CheckTimeout(KeyboardInterrupt):
    """Raised in the grading thread once a run exceeds the entry's check_timeout. pytest ends its session
    on an interrupt (and still tears its fixtures down); any other exception would only fail one test."""


class Handover:
    """A pytest plugin object that puts the instance's context where the fixtures read it."""

    def __init__(self, context: InstanceContext) -> None:
        self.context = context

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[CONTEXT] = self.context


class Collector:
    """A pytest plugin object that records outcomes and deselects tests not asked for."""

    def __init__(self, only: set[str] | None) -> None:
        self.only = only
        self.conditions: dict[str, Condition] = {}
        self.titles: dict[str, str] = {}
        self.planned: list[str] = []
        self.collect_errors: list[str] = []
        self.interrupted = False
        self.timed_out = False
        self.stopping = False  # the session handles an interrupt: its fixtures' teardown must not be cut
        self.current: str | None = None  # the test in progress, named when a run times out in it

    @pytest.hookimpl(tryfirst=True)  # before pytest's own reporter, which can crash formatting the traceback
    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        self.stopping = True
        if not isinstance(excinfo.value, CheckTimeout):
            # pytest reports collection errors through the same hook, as its own Interrupted
            self.interrupted = not isinstance(excinfo.value, pytest.Session.Interrupted)

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        if self.only is not None:
            # a parametrized check is asked for by its function name (all its cases) or by one case
            keep = [item for item in items if item.name in self.only or getattr(item, "originalname", None) in self.only]
            config.hook.pytest_deselected(items=[item for item in items if item not in keep])
            items[:] = keep
        for item in items:
            doc = getattr(getattr(item, "obj", None), "__doc__", None) or item.name.removeprefix("test_").replace("_", " ")
            title = doc.strip().splitlines()[0]
            callspec = getattr(item, "callspec", None)
            # each case of a parametrized check is its own line: its id is pytest's, or the check's own
            # pytest.param(..., id="not JSON"), the same one the condition's id and JUnit name carry
            self.titles[item.name] = f"{title} [{callspec.id}]" if callspec is not None else title
            self.planned.append(item.name)

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.current = nodeid.rpartition("::")[2]

    def pytest_runtest_logfinish(self) -> None:
        self.current = None

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors.append(f"{report.nodeid}: {report.longreprtext.strip().splitlines()[-1]}")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        name = item.name
        if report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
            self._record(name, "skipped", str(reason).removeprefix("Skipped: "), report.duration)
        elif report.failed:
            kind: Outcome = "failed" if report.when == "call" else "error"
            message = learner_message(call.excinfo) if call.excinfo else report.longreprtext
            if call.excinfo and not isinstance(call.excinfo.value, AssertionError):
                kind = "error"
            self._record(name, kind, message, report.duration)
        elif report.when == "call":
            self._record(name, "passed", "", report.duration)

    def _record(self, name: str, outcome: Outcome, message: str, seconds: float) -> None:
        if name in self.conditions and self.conditions[name].outcome != "passed":
            return  # the first failure (setup or call) is the one worth reading
        self.conditions[name] = Condition(name, self.titles.get(name, name), outcome, message, seconds)

    def timeout_condition(self, seconds: float) -> Condition:
        """The condition a timed-out run ends with: where it stopped, and how much it did not get to."""
        where = f"in {self.current}" if self.current else ("while loading the checks" if not self.planned else "between checks")
        skipped = [name for name in self.planned if name not in self.conditions and name != self.current]
        message = f"check timed out after {seconds:g} s {where} (check_timeout of the manifest)"
        if skipped:
            message += f"; {len(skipped)} check(s) not run: {', '.join(skipped)}"
        name = self.current or "timeout"
        return Condition(name, self.titles.get(name, "the checks finish within check_timeout"), "error", message, seconds)


@contextlib.contextmanager
def time_limit(seconds: float | None, collector: Collector) -> Iterator[None]:
    """Raise CheckTimeout in this thread after `seconds`, again every second while a check swallows it,
    never once the session is winding down. Signals reach only the main thread: elsewhere, no limit."""
    if seconds is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        if not collector.stopping:
            collector.timed_out = True
            raise CheckTimeout(f"check timed out after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def forget_modules_under(directory: Path) -> None:
    """Drop the check modules a run imported: the next entry's test_*.py or conftest.py of the same
    name must be imported afresh, not served from sys.modules (importlib mode keys them by name)."""
    root = str(directory.resolve())
    for name, module in list(sys.modules.items()):
        if (getattr(module, "__file__", None) or "").startswith(root):
            del sys.modules[name]


def run_checks(
    context: InstanceContext,
    checks_dir: Path,
    *,
    only: set[str] | None = None,
    junit: Path | None = None,
    timeout: float | None = None,
) -> Grade:
    """Run every test_*.py in `checks_dir` against the instance; never raises for a failing check.

    A run longer than `timeout` seconds ends with a condition saying where it stopped, nothing torn
    down. A Ctrl-C anywhere in the run is a plain KeyboardInterrupt for the caller to clean up after."""
    started = time.monotonic()
    collector = Collector(only)
    args = [
        str(checks_dir),
        "-c", str(PYTEST_INI),
        "--rootdir", str(checks_dir),
        "--import-mode=importlib",
        "-p", "no:cacheprovider",
        # pytest's own terminal output is swallowed below (the learner reads our report); the
        # terminal plugin itself must stay: assertion messages are formatted through it
        "-qq", "--no-header", "--no-summary", "--tb=no", "-rN",
        "-W", "ignore::DeprecationWarning",
        # a tenth of every run went to these two plugins' teardown (repeated gc.collect()); the
        # others are unused by checks
        "-p", "no:unraisableexception", "-p", "no:threadexception",
        "-p", "no:doctest", "-p", "no:pastebin", "-p", "no:stepwise", "-p", "no:legacypath",
    ]
    if junit:
        args += ["--junitxml", str(junit), "-o", f"junit_suite_name={context.entry.id}"]
    # hermetic: no plugin installed on the machine (testinfra's own `host` fixture among them) joins a grading run
    autoload = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        try:
            with contextlib.redirect_stdout(io.StringIO()), time_limit(timeout, collector):
                pytest.main(args, plugins=[plugin, Handover(context), collector])
        except Exception:
            # pytest's own interrupt hook can crash formatting the traceback of an interrupt that landed
            # on an instruction without a line number (TypeError: NoneType - int): an interrupt it is
            if not (collector.interrupted or collector.timed_out):
                raise
        except KeyboardInterrupt as exc:
            if not isinstance(exc, CheckTimeout):  # one firing as pytest returns is still a timeout
                raise KeyboardInterrupt from None
        if collector.interrupted:
            raise KeyboardInterrupt  # pytest swallowed a Ctrl-C: the caller must still clean up
    finally:
        forget_modules_under(checks_dir)
        if autoload is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = autoload
    if collector.timed_out and timeout is not None:
        collector.conditions.pop(collector.current or "", None)
        timed_out = collector.timeout_condition(timeout)
        collector.conditions[timed_out.id] = timed_out
    grade = Grade(context.entry.id, list(collector.conditions.values()), time.monotonic() - started)
    for error in collector.collect_errors:
        grade.conditions.append(Condition("collection", "checks could be loaded", "error", error))
    if not grade.conditions:
        grade.conditions.append(Condition("collection", "checks could be loaded", "error", "no check ran"))
    return grade
