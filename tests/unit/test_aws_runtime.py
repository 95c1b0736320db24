"""The AWS runtime's own logic: endpoint choice, what answers on a port, the managed emulator's pid file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.runtime import aws


class FakeServer(BaseHTTPRequestHandler):
    """Answers like LocalStack's health endpoint, like an STS endpoint, or like a plain web app."""

    mode = "plain"

    def _reply(self) -> None:
        if self.mode == "localstack" and self.path == "/_localstack/health":
            body, status = json.dumps({"services": {"s3": "running"}}).encode(), 200
        elif self.mode == "sts" and self.command == "POST":
            body, status = b"<GetCallerIdentityResponse><Account>123456789012</Account></GetCallerIdentityResponse>", 200
        else:
            body, status = b"<html>hello</html>", 200
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _reply  # http.server dispatches on these names

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator:
    servers = []

    def start(mode: str) -> str:
        handler = type("Handler", (FakeServer,), {"mode": mode})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("mode", "expected"), [("localstack", "localstack"), ("sts", "aws"), ("plain", None)])
def test_identify_tells_aws_endpoints_from_other_servers(serve, mode: str, expected: str | None) -> None:
    assert aws.identify(serve(mode)) == expected


def test_identify_of_a_closed_port_is_none() -> None:
    assert aws.identify("http://127.0.0.1:9", timeout=0.3) is None


def test_endpoint_defaults_to_localstack_port_and_can_be_overridden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(aws.ENDPOINT_VARIABLE, raising=False)
    assert aws.endpoint_url() == "http://127.0.0.1:4566"
    monkeypatch.setenv(aws.ENDPOINT_VARIABLE, "http://127.0.0.1:5000/")
    assert aws.endpoint_url() == "http://127.0.0.1:5000"
    env = aws.client_env()
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"} <= set(env)


def test_an_override_that_is_not_aws_is_a_clear_error(serve, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(aws.ENDPOINT_VARIABLE, serve("plain"))
    emulator = aws.Emulator(tmp_path)
    with pytest.raises(aws.BreakfixError, match="does not answer as an AWS endpoint"):
        emulator.ensure()
    assert not emulator.status().ok


def test_an_override_that_answers_is_used_without_starting_moto(serve, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    url = serve("localstack")
    monkeypatch.setenv(aws.ENDPOINT_VARIABLE, url)
    emulator = aws.Emulator(tmp_path)
    assert emulator.ensure() == url
    assert emulator.pid() is None and emulator.status().kind == "external endpoint"


def test_a_stale_or_foreign_pid_file_is_not_our_emulator(tmp_path: Path) -> None:
    emulator = aws.Emulator(tmp_path)
    assert emulator.pid() is None
    emulator.pid_file.write_text(str(os.getpid()))  # alive, but not moto
    assert emulator.pid() is None
    emulator.pid_file.write_text("not a pid")
    assert emulator.pid() is None
    assert emulator.stop() is False


def wait_until_ours(emulator: aws.Emulator) -> int | None:
    """/proc/<pid>/cmdline of a just-spawned stand-in fills in a moment after exec."""
    deadline = time.monotonic() + 10
    while emulator.pid() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return emulator.pid()


def test_stop_kills_only_a_process_that_is_ours(tmp_path: Path) -> None:
    # a stand-in whose command line names moto.server, as the real one's does
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", "moto.server"])
    try:
        emulator = aws.Emulator(tmp_path)
        emulator.pid_file.write_text(str(process.pid))
        assert wait_until_ours(emulator) == process.pid
        assert emulator.stop() is True
        assert not Path(f"/proc/{process.pid}").exists() and not emulator.pid_file.exists()
    finally:
        process.kill()


def test_the_learner_env_puts_the_aws_cli_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/usr/bin")
    env = aws.AwsRuntime("x").env()
    assert env["PATH"].endswith(":/usr/bin") and env["AWS_DEFAULT_REGION"] == aws.REGION


def test_port_taken_message_says_how_to_fix() -> None:
    message = aws.port_taken_message()
    assert "4566" in message and aws.ENDPOINT_VARIABLE in message and "ss -ltnp" in message


def test_a_lease_from_any_state_dir_keeps_the_emulator_from_being_stopped(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    emulator = aws.Emulator()
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", "moto.server"])
    try:
        emulator.directory.mkdir(parents=True)
        emulator.pid_file.write_text(str(process.pid))
        runtime = aws.AwsRuntime("scenario-a")
        emulator.lease(runtime.holder)
        assert emulator.holders() == [runtime.holder]
        assert aws.stop_emulator_if_unused() is False  # `breakfix stop` elsewhere: the scenario still needs it
        emulator.release(runtime.holder)
        assert wait_until_ours(emulator) == process.pid
        assert aws.stop_emulator_if_unused() is True
        # the emulator was signalled: it ends (a /proc check would race with our own reaping of the child)
        assert process.wait(timeout=10) is not None
    finally:
        process.kill()


def test_preflight_names_a_missing_package_without_importing_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None if name == "flask" else real(name, *args))
    monkeypatch.setenv(aws.ENDPOINT_VARIABLE, "http://127.0.0.1:9")  # the status part: an endpoint that is not there
    problems = aws.AwsRuntime("test", aws.Emulator(tmp_path)).preflight()
    assert "python package moto[server] is missing: pip install 'moto[server]'" not in problems, "an external endpoint needs no moto"
    monkeypatch.delenv(aws.ENDPOINT_VARIABLE)
    problems = aws.AwsRuntime("test", aws.Emulator(tmp_path)).preflight()
    assert "python package moto[server] is missing: pip install 'moto[server]'" in problems
    assert not any("boto3" in problem for problem in problems)


@pytest.mark.parametrize(("container", "kind"), [("breakfix-aws-emulator-1", "moto (docker-compose.yml)"), (None, "external endpoint")])
def test_an_emulator_on_the_port_says_whether_docker_compose_runs_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, container: str | None, kind: str
) -> None:
    monkeypatch.delenv(aws.ENDPOINT_VARIABLE, raising=False)
    monkeypatch.setattr(aws, "port_is_free", lambda port: False)
    monkeypatch.setattr(aws, "identify", lambda url, timeout=1.0: "aws")
    monkeypatch.setattr(aws, "compose_emulator", lambda: container)
    status = aws.Emulator(tmp_path).status()
    assert status.ok and status.kind == kind
    assert (container in status.detail) if container else "already serves" in status.detail
