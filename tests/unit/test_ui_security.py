"""breakfix ui answers only to its own address, and changes nothing without this run's token."""

from __future__ import annotations

import socket

import pytest
from starlette.testclient import TestClient

from harness.errors import BreakfixError
from harness.ui.actions import Outcome
from harness.ui.app import create_app
from harness.ui.observer import Observer
from harness.ui.security import COOKIE
from harness.ui.server import bind

PORT, TOKEN = 41234, "s3cret-token"
BASE = f"http://127.0.0.1:{PORT}"


class RecordingRunner:
    def __init__(self) -> None:
        self.ran: list[str] = []

    def run(self, action: str) -> Outcome:
        self.ran.append(action)
        return Outcome(action, 0, "ok")


@pytest.fixture
def runner() -> RecordingRunner:
    return RecordingRunner()


@pytest.fixture
def client(runner: RecordingRunner) -> TestClient:
    return TestClient(create_app(PORT, TOKEN, observer=Observer(resolve=lambda: (None, [], [])), runner=runner), base_url=BASE)  # type: ignore[arg-type]


def test_pages_answer_on_their_own_address(client: TestClient) -> None:
    assert client.get("/").status_code == 200
    assert client.get("/", headers={"host": f"localhost:{PORT}"}).status_code == 200


@pytest.mark.parametrize("host", ["evil.example:80", f"evil.example:{PORT}", "127.0.0.1:80", f"127.0.0.1.evil.example:{PORT}", ""])
def test_a_rebound_host_is_refused(client: TestClient, host: str) -> None:
    # DNS rebinding: the attacker's name now resolves to 127.0.0.1, and the browser sends it as the Host
    response = client.get("/api/status", headers={"host": host})
    assert response.status_code == 421
    assert "own address" in response.text


def test_a_cross_origin_request_is_refused_even_with_the_token(client: TestClient, runner: RecordingRunner) -> None:
    response = client.post("/api/check", headers={"origin": "http://evil.example", "x-breakfix-token": TOKEN})
    assert response.status_code == 403
    assert runner.ran == []


def test_actions_need_the_token(client: TestClient, runner: RecordingRunner) -> None:
    assert client.post("/api/check").status_code == 403
    assert client.post("/api/stop", headers={"x-breakfix-token": "wrong"}).status_code == 403
    assert runner.ran == []
    assert client.post("/api/check", headers={"x-breakfix-token": TOKEN, "origin": BASE}).json()["action"] == "check"
    assert runner.ran == ["check"]


def test_the_printed_url_sets_a_strict_cookie_that_then_authorizes(client: TestClient, runner: RecordingRunner) -> None:
    response = client.get(f"/active?token={TOKEN}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/active"  # the token leaves the address bar (and the history)
    cookie = response.headers["set-cookie"]
    assert f"{COOKIE}={TOKEN}" in cookie and "SameSite=Strict" in cookie and "HttpOnly" in cookie
    client.cookies.set(COOKIE, TOKEN)
    assert client.post("/api/hint").status_code == 200
    assert runner.ran == ["hint"]


def test_a_wrong_token_in_the_url_is_refused(client: TestClient) -> None:
    assert client.get("/?token=guess", follow_redirects=False).status_code == 403


def test_the_signal_stream_needs_the_token(client: TestClient) -> None:
    # the stream starts the observer, which sends traffic to the system under test
    assert client.get("/api/signals").status_code == 403


def test_an_unknown_action_is_not_run(client: TestClient, runner: RecordingRunner) -> None:
    assert client.post("/api/rm-rf", headers={"x-breakfix-token": TOKEN}).status_code == 404
    assert runner.ran == []


def test_it_binds_loopback_only_on_a_free_port() -> None:
    sock = bind(0)
    try:
        host, port = sock.getsockname()
        assert host == "127.0.0.1" and port > 0
    finally:
        sock.close()


def test_a_taken_port_is_one_clear_error() -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        with pytest.raises(BreakfixError, match="--port"):
            bind(taken.getsockname()[1])
    finally:
        taken.close()
