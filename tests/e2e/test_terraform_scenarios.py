"""Terraform scenarios end to end: real terraform, real moto on 127.0.0.1:4566, every fake fix rejected,
the emulator shared between scenarios, its death reported by checks and repaired by reset."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness import catalog, state
from harness.errors import BreakfixError
from harness.lifecycle import Lifecycle
from harness.runtime.aws import PORT, AwsRuntime, Emulator
from harness.runtime.common import port_is_free
from harness.runtime.terraform import installed_version, version_problem

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(version_problem(installed_version()) is not None, reason=str(version_problem(installed_version()))),
    pytest.mark.uses("aws-emulator", "terraform-corrupted-state", "terraform-stale-lock"),
]


def breakfix(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "200"}, check=False)


@pytest.fixture(scope="module", autouse=True)
def emulator_left_as_found() -> Iterator[None]:
    """The tests start the managed emulator when none runs; they stop it again at the end."""
    was_serving = not port_is_free(PORT)
    yield
    if not was_serving:
        Emulator().stop()


def processes_under(directory: Path) -> list[int]:
    """Pids whose working directory is inside `directory` (terraform runs live in the instance dir)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and Path(os.readlink(entry / "cwd")).is_relative_to(directory):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def assert_nothing_left(entry_id: str, state_dir: Path) -> None:
    assert AwsRuntime(entry_id).leftovers() == []
    assert processes_under(state_dir) == []


class NotAws(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"<html>some other dev server</html>")

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        pass


def test_port_taken_by_something_else_is_a_one_line_error() -> None:
    if not port_is_free(PORT) and not Emulator().stop():
        pytest.skip(f"127.0.0.1:{PORT} is served by an emulator breakfix does not manage")
    server = ThreadingHTTPServer(("127.0.0.1", PORT), NotAws)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(BreakfixError, match=f"port {PORT} on 127.0.0.1 is taken by something that is not an AWS endpoint"):
            Lifecycle(catalog.find("terraform-corrupted-state")).preflight()
        started = breakfix("start", "terraform-corrupted-state")
        assert started.returncode == 3 and "not an AWS endpoint" in started.stderr and "Traceback" not in started.stderr
    finally:
        server.shutdown()
        server.server_close()


def test_stale_lock_verify_rejects_every_fake(isolated_state: Path, rejected_fakes) -> None:
    """healthy passes, both locks real, solution passes, each fake caught by its own check, nothing left."""
    entry = catalog.find("terraform-stale-lock")
    rejected = rejected_fakes(entry)
    assert {"test_no_state_lost", "test_state_history_intact"} <= set(rejected["delete-state"])
    assert "test_staging_apply_finished_cleanly" in rejected["force-unlock-everything"]
    assert "test_prod_is_not_locked" in rejected["lock-false-apply"]
    assert {"test_no_state_lost", "test_state_history_intact"} <= set(rejected["recreate-bucket"])
    assert_nothing_left(entry.id, isolated_state)


def test_corrupted_state_verify_rejects_every_fake_on_the_same_emulator(isolated_state: Path, rejected_fakes) -> None:
    entry = catalog.find("terraform-corrupted-state")
    emulator = Emulator()
    before = emulator.pid()
    rejected = rejected_fakes(entry)
    assert {"test_lineage_unchanged", "test_resources_unchanged"} <= set(rejected["reapply-from-empty"])
    assert {"test_resources_unchanged", "test_plan_is_clean"} <= set(rejected["restore-oldest-version"])
    if before is not None:
        assert emulator.pid() == before, "the emulator was restarted instead of reused"
    assert_nothing_left(entry.id, isolated_state)


def test_emulator_death_is_reported_and_reset_recovers(isolated_state: Path) -> None:
    """The learner's path: start, eval `breakfix env`, the emulator dies, check says so, reset repairs, stop."""
    entry_id = "terraform-corrupted-state"
    started = breakfix("start", entry_id)
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        listed = subprocess.run(["bash", "-c", f'eval "$({sys.executable} -m harness.cli env)" && aws s3api list-buckets --output text'],
                                capture_output=True, text=True, timeout=120, check=False)
        assert f"bf-{entry_id}-tfstate" in listed.stdout, listed.stderr

        pid = Emulator().pid()
        if pid is None:
            pytest.skip("the emulator on 127.0.0.1:4566 is not managed by breakfix; cannot kill it")
        os.kill(pid, signal.SIGKILL)
        grade = Lifecycle(catalog.find(entry_id)).grade()
        assert grade.conditions and all(c.outcome == "error" for c in grade.conditions)
        assert all("AWS emulator" in c.message and "breakfix reset" in c.message for c in grade.conditions)

        reset = breakfix("reset")
        assert reset.returncode == 0, reset.stdout + reset.stderr
        grade = Lifecycle(catalog.find(entry_id)).grade()
        assert grade.outcome_of("test_state_is_readable") == "failed"  # broken again, as at the start
        assert all("AWS emulator" not in c.message for c in grade.conditions)
    finally:
        stopped = breakfix("stop")
    assert stopped.returncode == 0 and "stopped the AWS emulator" in stopped.stdout, stopped.stdout + stopped.stderr
    assert port_is_free(PORT) and state.load_active() is None
    assert processes_under(isolated_state) == []
