"""State under stress, with real `breakfix` processes on a real memory-leak instance: concurrent
checks and hints, interrupts and SIGKILL at every moment of `start`, `reset` against `check`, an
unreachable engine, an unreadable or unwritable state dir, and `verify` of another entry.

Run under the entry locks: flock /tmp/bf-lock-memory-leak flock /tmp/bf-lock-alert-dedup pytest <this file>
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.runtime.docker import DockerRuntime

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.uses("memory-leak", "alert-dedup")]
SCENARIO = "memory-leak"
BREAKFIX = str(Path(sys.executable).with_name("breakfix"))
NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent/breakfix-no-engine.sock"}
# the lines `start` prints, in order: an interrupt is sent as each one appears
START_MOMENTS = [
    "▸ teardown", "▸ preflight", "▸ provision", "starting pricing", "starting storefront", "waiting for services",
    "▸ baseline", "▸ inject", "fault 1/1", "▸ confirm", "ready in", "workspace:", "BREAKFIX_INSTANCE=",
]


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([BREAKFIX, *args], check=False, capture_output=True, text=True, timeout=timeout, env={**os.environ, "COLUMNS": "200", **(env or {})})
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result


def leftovers() -> list[str]:
    return DockerRuntime(SCENARIO).leftovers()


def containers() -> list[str]:
    return [item for item in leftovers() if item.startswith("container ")]


def record(state_dir: Path) -> dict | None:
    path = state_dir / "instances" / SCENARIO / "state.json"
    return json.loads(path.read_text()) if path.exists() else None


@pytest.fixture
def running(isolated_state: Path) -> Iterator[Path]:
    """A handed-over memory-leak instance; whatever a test leaves is removed after it."""
    started = run("start", SCENARIO)
    assert started.returncode == 0, started.stderr
    yield isolated_state
    subprocess.run(["chattr", "-R", "-i", str(isolated_state)], capture_output=True, check=False)
    if leftovers() or (isolated_state / "active.json").exists():
        run("stop", "--force")
    assert leftovers() == []


def start_until(line: str, *, stop_signal: int, repeat: int = 1) -> tuple[int, str]:
    """`breakfix start` in its own process group (as a terminal runs it), `stop_signal` sent to the
    group as soon as `line` appears; returns the exit code and everything printed."""
    process = subprocess.Popen([BREAKFIX, "start", SCENARIO], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True, env={**os.environ, "COLUMNS": "200"})
    assert process.stdout is not None
    seen: list[str] = []
    for output in process.stdout:
        seen.append(output)
        if line in output:
            for _ in range(repeat):
                os.killpg(process.pid, stop_signal)
                time.sleep(0.2)
            break
    seen.append(process.stdout.read())
    return process.wait(120), "".join(seen)


def test_twenty_concurrent_checks_and_hints_are_all_counted(running: Path) -> None:
    commands = ["check", "hint"] * 10
    processes = [subprocess.Popen([BREAKFIX, command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for command in commands]
    outputs = [process.communicate(timeout=600)[0] for process in processes]  # the checks grade one after another
    printed = "\n".join(f"--- {command} (exit {process.returncode})\n{output}" for command, process, output
                        in zip(commands, processes, outputs, strict=True))
    assert all("Traceback" not in output for output in outputs), printed
    assert any("waiting for another check" in output for output in outputs), f"checks of one instance take turns:\n{printed}"
    final = record(running)
    assert final is not None and len(final["attempts"]) == 10, f"every check counted:\n{printed}"
    shown = sorted(line.split()[1] for output in outputs for line in output.splitlines() if line.startswith("hint "))
    assert shown == ["1/3", "2/3", "3/3"] and final["hints_used"] == 3, f"each hint shown once, none lost:\n{printed}"
    assert sum("no more hints" in output for output in outputs) == 7, printed


def test_reset_waits_for_a_check_and_a_check_refuses_a_reset_in_progress(running: Path) -> None:
    check = subprocess.Popen([BREAKFIX, "check"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert check.stdout is not None
    assert "checking" in check.stdout.readline()  # grading has begun: it holds the instance
    reset = subprocess.Popen([BREAKFIX, "reset"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    checked = check.stdout.read()
    assert check.wait(120) in (0, 1) and "passed" in checked, checked  # graded the whole system, not a torn one
    assert reset.stdout is not None
    lines = []
    for output in reset.stdout:  # the reset went on after the check: a check started now meets it
        lines.append(output)
        if "▸ provision" in output:
            refused = run("check")
            assert refused.returncode != 0 and "again once it is done" in refused.stderr, refused.stderr
    lines.append(reset.stdout.read())
    assert reset.wait(120) == 0, "".join(lines)
    assert "waiting for another breakfix command" in "".join(lines)
    final = record(running)
    assert final is not None and len(final["attempts"]) == 1 and final["phase"] == "running"


@pytest.mark.parametrize("moment", ["▸ provision", "▸ inject", "▸ confirm"])
def test_a_killed_start_is_recognised_never_graded_and_cleaned_up(isolated_state: Path, moment: str) -> None:
    code, printed = start_until(moment, stop_signal=signal.SIGKILL)
    assert code == -signal.SIGKILL, printed
    status = run("status")
    assert "start interrupted" in status.stdout and "is gone" in status.stdout, status.stdout
    refused = run("check")
    assert refused.returncode != 0 and "cannot be graded" in refused.stderr, refused.stderr
    assert record(isolated_state)["attempts"] == []  # type: ignore[index]
    if moment == "▸ confirm":
        again = run("start", SCENARIO)  # the next start cleans it up and builds it anew
        assert again.returncode == 0 and "running" in run("status").stdout, again.stderr
    stopped = run("stop")
    assert stopped.returncode == 0, stopped.stderr
    assert leftovers() == [] and not (isolated_state / "instances" / SCENARIO).exists()


@pytest.mark.parametrize("moment", START_MOMENTS)
def test_ctrl_c_at_any_moment_of_start_hands_over_or_removes_everything(isolated_state: Path, moment: str) -> None:
    """The message tells the truth: 'cleaned up' means nothing is left, 'ready and yours' means it is running."""
    code, printed = start_until(moment, stop_signal=signal.SIGINT, repeat=2 if moment == "▸ provision" else 1)
    assert "Traceback" not in printed, printed
    handed = record(isolated_state)
    if code == 0:  # the interrupt came after the command's last line: the hand-over was complete
        assert printed.rstrip().endswith("`breakfix hint`.") and handed is not None and handed["phase"] == "running", printed
        assert run("stop").returncode == 0
    elif "is ready and yours" in printed:
        assert code == 130, printed
        assert handed is not None and handed["phase"] == "running" and leftovers(), printed
        assert run("stop").returncode == 0
    else:
        assert code == 130 and "interrupted: cleaned up" in printed, printed
        assert handed is None and not (isolated_state / "active.json").exists(), printed
    assert leftovers() == []


@pytest.mark.parametrize("moment", ["▸ provision", "▸ inject"])
def test_sigterm_during_start_cleans_up_like_ctrl_c(isolated_state: Path, moment: str) -> None:
    code, printed = start_until(moment, stop_signal=signal.SIGTERM)
    assert code == 130 and "interrupted: cleaned up" in printed, printed
    assert record(isolated_state) is None and leftovers() == []


def test_verify_of_another_entry_leaves_the_learner_instance_alone(running: Path) -> None:
    verified = run("verify", "alert-dedup", timeout=600)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    status = run("status")
    assert status.returncode == 0 and "memory-leak" in status.stdout and "running" in status.stdout
    assert len(containers()) == 2


def test_an_unreachable_engine_forgets_nothing_and_says_so_first(running: Path) -> None:
    workspace = running / "instances" / SCENARIO / "workspace"
    before = record(running)
    for command in (["start", SCENARIO], ["reset"], ["check"], ["stop"], ["verify", "502-storm"]):
        failed = run(*command, env=NO_ENGINE)
        assert failed.returncode != 0 and failed.stderr.lstrip().startswith("error: no Docker engine reachable"), (command, failed.stderr)
    assert record(running) == before, "no attempt counted, no phase changed"
    assert workspace.is_dir() and len(containers()) == 2
    forced = run("stop", "--force", env=NO_ENGINE)
    assert forced.returncode != 0 and record(running) == before, "state stays until the containers are really gone"
    assert run("stop", "--force").returncode == 0 and leftovers() == [] and record(running) is None


@pytest.mark.parametrize("damage", ["state-not-utf8", "state-directory", "pointer-not-utf8", "pointer-directory", "hints-negative"])
def test_stop_force_recovers_from_unreadable_state(running: Path, damage: str) -> None:
    state_file, pointer = running / "instances" / SCENARIO / "state.json", running / "active.json"
    if damage == "hints-negative":
        state_file.write_text(json.dumps({**json.loads(state_file.read_text()), "hints_used": -5}))
    else:
        target = state_file if damage.startswith("state") else pointer
        target.unlink()
        if damage.endswith("directory"):
            (target / "x").mkdir(parents=True)
        else:
            target.write_bytes(b"\xff\xfe{")
    for command in ("status", "hint", "check"):
        refused = run(command)
        assert refused.returncode != 0 and "stop --force" in refused.stderr, (command, refused.stderr)
    forced = run("stop", "--force")
    assert forced.returncode == 0, forced.stderr
    assert leftovers() == [] and not pointer.exists() and not (running / "instances" / SCENARIO).exists()


@pytest.mark.skipif(shutil.which("chattr") is None, reason="needs chattr")
def test_an_unwritable_state_dir_is_one_line_and_loses_no_grade(running: Path) -> None:
    subprocess.run(["chattr", "-R", "+i", str(running)], check=True)
    try:
        checked = run("check")
        assert "not fixed yet" in checked.stdout, "the computed grade is printed"
        assert checked.returncode != 0 and "this check was not recorded: cannot write" in checked.stderr, checked.stderr
        hinted = run("hint")
        assert hinted.returncode != 0 and "cannot write" in hinted.stderr and "hint 1" not in hinted.stdout
        stopped = run("stop")
        assert stopped.returncode != 0 and "counts as present" in stopped.stderr, "stop does not leave 'running' silently"
        assert leftovers() == []
        started = run("start", "502-storm")
        assert started.returncode != 0 and "error:" in started.stderr
    finally:
        subprocess.run(["chattr", "-R", "-i", str(running)], check=True)
    assert record(running)["attempts"] == [] and run("stop").returncode == 0  # type: ignore[index]
    assert record(running) is None

