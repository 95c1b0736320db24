"""The grader's sandbox on the real engine: limits end runaway submissions with a clear verdict,
isolation holds, servers and services come up on ephemeral loopback ports, nothing is left."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.manifest import SandboxLimits
from harness.runtime.docker import DockerRuntime
from harness.runtime.sandbox import Sandbox, SandboxFailure

pytestmark = pytest.mark.docker
INSTANCE = "sandbox-e2e"
LIMIT_SECONDS = 4


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Sandbox]:
    tmp_path.chmod(0o755)  # pytest makes it private to root; the learner runs as `nobody`
    (tmp_path / "echo.py").write_text("import sys\nprint(sys.stdin.read().upper())\nprint('to stderr', file=sys.stderr)\nsys.exit(3)\n")
    with Sandbox(INSTANCE, tmp_path, SandboxLimits(memory="96m", pids=32, seconds=LIMIT_SECONDS)) as sandbox:
        yield sandbox
    assert DockerRuntime(INSTANCE).leftovers() == []


def test_runs_the_learner_program_and_reports(box: Sandbox) -> None:
    result = box.run(["python3", "echo.py"], stdin=b"hello")
    assert (result.verdict, result.exit_code) == ("ok", 3)
    assert result.stdout == "HELLO\n"
    assert result.stderr == "to stderr\n"
    assert result.peak_memory_bytes and 1_000_000 < result.peak_memory_bytes < 96 * 2**20


def test_an_infinite_loop_ends_at_the_time_limit(box: Sandbox) -> None:
    started = time.monotonic()
    result = box.python("while True:\n    pass\n")
    assert result.verdict == "timeout"
    assert result.message == f"exceeded the {LIMIT_SECONDS} s time limit"
    assert time.monotonic() - started < LIMIT_SECONDS + 15  # container start and removal included


def test_a_fork_bomb_ends_with_the_pids_verdict(box: Sandbox) -> None:
    started = time.monotonic()
    result = box.python("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n")
    assert result.verdict == "pids"
    assert "exceeded the 32 processes/threads limit" in result.message
    assert "did not finish within the 4 s time limit" in result.message
    assert time.monotonic() - started < LIMIT_SECONDS + 15


def test_a_memory_hog_is_killed_with_the_memory_verdict(box: Sandbox) -> None:
    started = time.monotonic()
    result = box.python("chunks = []\nwhile True:\n    chunks.append(bytearray(10**7))\n")
    assert result.verdict == "memory"
    assert result.message == "killed: exceeded the 96m memory limit"
    assert result.exit_code == 137
    assert time.monotonic() - started < LIMIT_SECONDS + 15


def test_a_per_call_limit_overrides_the_lab_default(box: Sandbox) -> None:
    result = box.python("b = bytearray(120 * 2**20)\n", memory="256m")
    assert result.verdict == "ok", result.describe()


def test_isolation_no_network_read_only_workspace_unprivileged(box: Sandbox) -> None:
    probe = """
import os, socket
results = []
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2); results.append("net:open")
except OSError:
    results.append("net:blocked")
try:
    open("/work/new.txt", "w"); results.append("work:writable")
except OSError:
    results.append("work:read-only")
try:
    open("/proc/1/environ").read(); results.append("pid1:readable")
except OSError:
    results.append("pid1:private")
print(" ".join(results), os.getuid())
"""
    result = box.python(probe)
    assert result.stdout.split() == ["net:blocked", "work:read-only", "pid1:private", "65534"], result.describe()


def test_endless_output_is_capped(box: Sandbox) -> None:
    result = box.python("while True:\n    print('x' * 1000)\n", timeout=2)
    assert result.verdict == "timeout"
    assert len(result.stdout) < 5 * 2**20
    assert "more bytes of stdout dropped" in result.stdout


def test_grader_files_are_read_only_and_leftover_processes_end(box: Sandbox, tmp_path: Path) -> None:
    data = tmp_path / "data.txt"
    data.write_text("from a path\n")
    code = "import os\nif os.fork() == 0:\n    import time; time.sleep(600)\nprint(open('/grader/data.txt').read() + open('/grader/inline.txt').read())\n"
    result = box.python(code, files={"data.txt": data, "inline.txt": b"from bytes"})
    assert result.verdict == "ok", result.describe()
    assert result.stdout.split("\n")[:2] == ["from a path", "from bytes"]
    assert result.seconds < 5  # the sleeping child did not hold the run open


SERVER = """
import http.server, sys, urllib.request
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = urllib.request.urlopen("http://backend:8000/", timeout=2).read() if self.path == "/via" else b"self"
        self.send_response(200); self.end_headers(); self.wfile.write(body)
http.server.ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
"""


def test_serve_and_service_share_an_internal_network(box: Sandbox) -> None:
    (box.workspace / "server.py").write_text(SERVER)
    net = box.network()
    backend = SERVER.replace('b"self"', 'b"backend"')
    with box.service(["python3", "/grader/backend.py"], name="backend", network=net, port=8000, files={"backend.py": backend}) as svc:
        assert svc.alias == "backend" and svc.url.startswith("http://127.0.0.1:")
        with box.serve(["python3", "server.py"], port=8000, network=net, ready_path="/") as server:
            assert server.url.startswith("http://127.0.0.1:")
            with urllib.request.urlopen(server.url + "/via", timeout=5) as response:
                assert response.read() == b"backend"
            # the engine's log pipe delivers the server's line a moment after the response
            deadline = time.monotonic() + 10
            while "GET /via" not in server.logs() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert "GET /via" in server.logs()


def test_a_server_that_never_listens_is_a_failed_check(box: Sandbox) -> None:
    never = ["python3", "-c", "import sys; print('boom'); sys.exit(2)"]
    with pytest.raises(SandboxFailure, match=r"(?s)did not come up \(it exited with code 2\).*boom"), box.serve(never, port=8000):
        pass


def test_a_batch_runs_cases_in_one_container_each_with_its_limit(box: Sandbox) -> None:
    cases = {"echo": ["python3", "echo.py"], "loop": ["python3", "-c", "while True: pass"], "missing": ["no-such-program"]}
    run, results = box.run_batch(cases, case_timeout=2)
    assert run.verdict == "ok", run.describe()
    assert (results["echo"].exit_code, results["echo"].stdout) == (3, "\n")
    assert results["loop"].timed_out
    assert results["missing"].exit_code == 127


def test_findings_of_a_grader_script(box: Sandbox) -> None:
    grader = (
        "from breakfix_findings import check, expect, report\n"
        "@check('math')\ndef _():\n    return expect('1 + 1', 1 + 1, 2)\n"
        "@check('learner')\ndef _():\n    raise ZeroDivisionError('boom')\n"
        "report()\n"
    )
    findings = box.findings(["python3", "/grader/grader.py"], files={"grader.py": grader})
    assert findings.problem("math") is None
    assert findings.problem("learner") == "raised ZeroDivisionError: boom"
