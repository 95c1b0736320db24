"""502-storm end to end on the real engine: verify with every fake fix, the CLI flow, Ctrl-C cleanup."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from harness import catalog
from harness.runtime.docker import DockerRuntime

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.uses("502-storm")]
SCENARIO = "502-storm"


def breakfix(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "COLUMNS": "200"}, check=check)


def test_verify_with_every_fake_fix_rejected(rejected_fakes) -> None:
    """healthy passes, broken fails, solution passes, each fake fix fails, teardown leaves nothing."""
    entry = catalog.find(SCENARIO)
    rejected = rejected_fakes(entry)
    # each fake is caught by the condition written for it, not only by accident
    assert "test_every_backend_serves_through_the_lb" in rejected["one-backend"]
    assert "test_load_balancer_is_in_the_path" in rejected["bypass-lb"]
    assert "test_responses_come_from_the_app" in rejected["static-200"]
    assert "test_enterprise_sessions_are_complete" in rejected["drop-session-claims"]
    assert "test_no_server_errors_under_load" in rejected["huge-timeouts"]
    assert "test_no_request_hangs" in rejected["hang-behind-huge-timeouts"]
    assert DockerRuntime(SCENARIO).leftovers() == []


def test_cli_start_check_fix_check_stop(tmp_path: Path) -> None:
    """The learner's path through the CLI, state shared between separate processes."""
    started = breakfix("start", SCENARIO)
    assert started.returncode == 0, started.stdout + started.stderr
    assert "ready in" in started.stdout and "502 Bad Gateway" in started.stdout
    assert "checks must pass on the healthy system" in started.stdout, "the first start on a machine runs the baseline"
    try:
        failing = breakfix("check", "--json")
        assert failing.returncode == 1
        result = json.loads(failing.stdout)
        assert result["passed"] is False
        failed = {c["id"]: c["message"] for c in result["conditions"] if c["outcome"] == "failed"}
        assert "502" in failed["test_no_server_errors_under_load"]

        first_hint = breakfix("hint")
        assert "hint 1/3" in first_hint.stdout and "error log" in first_hint.stdout
        status = breakfix("status")
        assert "hints used 1/3" in status.stdout and "checks run 1" in status.stdout

        # a half-done fix, then reset: the system is broken again, the hints used are kept
        breakfix("solve", "--apply", "--yes", check=True)
        reset = breakfix("reset")
        assert reset.returncode == 0 and "broken again" in reset.stdout, reset.stderr
        assert "baseline reused (passed here" in reset.stdout, "the start's proof is reused"
        assert breakfix("check").returncode == 1
        assert "hints used 1/3" in breakfix("status").stdout

        applied = breakfix("solve", "--apply", "--yes")
        assert applied.returncode == 0, applied.stderr
        junit = tmp_path / "grade.xml"
        passing = breakfix("check", "--junit", str(junit))
        assert passing.returncode == 0, passing.stdout
        assert "all conditions pass" in passing.stdout
        suite = ElementTree.parse(junit).getroot().find("testsuite")
        assert suite is not None and suite.get("failures") == "0" and int(suite.get("tests", 0)) >= 7
        assert "solved" in breakfix("status").stdout
    finally:
        stopped = breakfix("stop")
    assert stopped.returncode == 0 and "nothing left behind" in stopped.stdout
    assert DockerRuntime(SCENARIO).leftovers() == []
    assert breakfix("status").returncode == 3  # nothing running: a breakfix error (README, exit codes)


def test_ctrl_c_during_provisioning_leaves_nothing() -> None:
    """SIGINT while containers are being created: the run cleans up and exits 130."""
    docker = DockerRuntime(SCENARIO)
    docker.teardown()  # the signal goes out when the first container appears: none may be left from before
    process = subprocess.Popen([sys.executable, "-m", "harness.cli", "start", SCENARIO],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while not any(item.startswith("container") for item in docker.leftovers()):
        assert time.monotonic() < deadline and process.poll() is None, "provisioning never started"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 130, output
    assert "interrupted: cleaned up" in output
    assert docker.leftovers() == []
    # exit 3, nothing running (a breakfix error: README, exit codes)
    assert breakfix("status").returncode == 3, "an interrupted start must not leave an active instance"


def test_grade_comes_from_installed_content_not_the_checkout() -> None:
    """Editing a checkout's checks cannot change a grade: an installed breakfix reads its own copy."""
    from harness import paths

    if not (paths.PACKAGE_DIR / "content").is_dir():
        pytest.skip("running from a source checkout (editable); the installed-package rule applies to real installs")
    assert catalog.find(SCENARIO).checks_dir.is_relative_to(paths.PACKAGE_DIR)


BROKEN_BUFFERS = ("4k", "4 4k", "8k")  # what the fault sets
# valid fixes other than the reference's 16k / 8 16k / 32k: the enterprise header (an 8k buffer is
# still too small for it) fits either
LEARNER_FIXES = [("12k", "4 12k", "24k"), ("24k", "4 24k", "48k")]


def set_buffers(conf: Path, sizes: tuple[str, str, str]) -> None:
    import re

    size, buffers, busy = sizes
    text = re.sub(r"proxy_buffer_size \d+k;", f"proxy_buffer_size {size};", conf.read_text())
    text = re.sub(r"proxy_buffers \d+ \d+k;", f"proxy_buffers {buffers};", text)
    conf.write_text(re.sub(r"proxy_busy_buffers_size \d+k;", f"proxy_busy_buffers_size {busy};", text))


def reload_lb() -> float:
    """`nginx -s reload` as a learner types it; returns when the command did (the reload itself is still in flight)."""
    subprocess.run(["docker", "exec", f"bf-{SCENARIO}-lb", "nginx", "-s", "reload"], check=True, capture_output=True, timeout=30)
    return time.monotonic()


def test_a_learners_own_fix_passes_when_checked_right_after_the_reload() -> None:
    """A valid fix other than the reference, reloaded, then `breakfix check` at once: PASS, every time.
    The grade settles first (the old nginx workers, on the broken configuration, are gone)."""
    from harness.lifecycle import Lifecycle

    assert breakfix("start", SCENARIO).returncode == 0
    lifecycle = Lifecycle(catalog.find(SCENARIO))
    conf = lifecycle.workspace / "stack" / "lb" / "default.conf"
    outcomes = []
    try:
        for attempt in range(15):
            set_buffers(conf, BROKEN_BUFFERS)  # broken again, as the fault left it
            reload_lb()
            time.sleep(1)
            set_buffers(conf, LEARNER_FIXES[attempt % 2])
            reloaded = reload_lb()
            if attempt % 3 == 2:
                # in-process, a few milliseconds after the reload: the moment old workers still serve
                assert time.monotonic() - reloaded < 0.1
                grade = lifecycle.grade()
                failures = [f"{c.id}: {c.message}" for c in grade.conditions if c.outcome != "passed"]
                outcomes.append((attempt, grade.passed, failures))
                continue
            launched = time.monotonic()
            checked = breakfix("check")
            assert launched - reloaded < 0.1, "the check must start within 100 ms of the reload"
            assert "grading anyway" not in checked.stdout + checked.stderr, checked.stdout
            failed = [line for line in checked.stdout.splitlines() if "FAIL" in line or "ERROR" in line]
            outcomes.append((attempt, checked.returncode == 0 and "all conditions pass" in checked.stdout, failed))
    finally:
        breakfix("stop")
    assert [outcome for outcome in outcomes if not outcome[1]] == [], "a correct fix failed its check"
    assert DockerRuntime(SCENARIO).leftovers() == []
