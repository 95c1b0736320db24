"""The pages' data comes from the same catalog, state and history as the CLI; actions run the CLI itself."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from starlette.testclient import TestClient

from harness import history, state
from harness.manifest import ScenarioManifest, load_manifest
from harness.ui.actions import Busy, Runner
from harness.ui.app import create_app
from harness.ui.observer import Observer
from harness.ui.security import HEADER
from harness.ui.server import bind

PORT, TOKEN = 41235, "t0ken"


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app(PORT, TOKEN, observer=Observer(resolve=lambda: (None, [], []))), base_url=f"http://127.0.0.1:{PORT}")


def start_502_storm(hints: int = 0) -> None:
    record = state.InstanceState(instance="502-storm", entry_id="502-storm", kind="scenario", phase="running",
                                 handed_over_at=time.time() - 65, hints_used=hints)
    state.save(record)
    assert state.claim_active(record) is None


def test_catalog_rows_with_requirements_and_solved_marks(client: TestClient) -> None:
    history.started("kv-ttl", "lab", at=100.0, handed_over=100.0)
    history.checked("kv-ttl", 10, 0, {}, True, at=142.0)
    data = client.get("/api/catalog").json()
    rows = {row["id"]: row for row in data["entries"]}
    assert rows["kv-ttl"]["best_seconds"] == 42.0 and rows["502-storm"]["best_seconds"] is None
    assert rows["502-storm"]["question"] == "T3" and "nginx" in rows["502-storm"]["tags"]
    assert all(isinstance(row["missing"], list) for row in rows.values())
    assert {row["kind"] for row in rows.values()} == {"scenario", "lab"}


def test_entry_brief_is_rendered_without_raw_html(client: TestClient) -> None:
    entry = client.get("/api/entry/502-storm").json()
    assert entry["time_limit_minutes"] == 30 and entry["difficulty"] == "medium" and entry["signals"] == ["http-status"]
    assert "<p>" in entry["brief_html"] and "<script" not in entry["brief_html"]
    assert client.get("/api/entry/..%2Fetc").status_code == 404
    assert client.get("/api/entry/no-such-entry").status_code == 404


def test_markdown_html_is_escaped(tmp_path: Any) -> None:
    from harness.ui.views import render

    brief = tmp_path / "README.md"
    brief.write_text("# Brief\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1))\n")
    html = render(brief)
    assert "<script>" not in html and "&lt;script&gt;" in html and "href=\"javascript" not in html


def test_status_is_the_clis_record(client: TestClient) -> None:
    assert client.get("/api/status").json() == {"active": False}
    start_502_storm(hints=2)
    status = client.get("/api/status").json()
    assert status["entry"] == "502-storm" and status["time_limit_seconds"] == 1800 and 64 < status["elapsed_seconds"] < 80
    assert status["hints_used"] == 2 and status["hints_total"] == 3 and len(status["hints"]) == 2  # the taken ones only
    assert status["hints"][0].startswith("<")


def test_a_pass_after_solve_apply_is_not_solved_on_the_page_either(client: TestClient) -> None:
    start_502_storm()
    record = state.load_active()
    assert record is not None and record.handed_over_at is not None
    history.started("502-storm", "scenario", at=record.started_at, handed_over=record.handed_over_at)
    history.solution_applied("502-storm", at=record.handed_over_at + 20)
    state.record_attempt("502-storm", 7, 0, solved=True)  # the reference's pass, as `check` records it
    status = client.get("/api/status").json()
    assert (status["solved"], status["solved_after_seconds"]) == (False, None)
    assert status["solution_applied_after_seconds"] == pytest.approx(20)


def test_a_page_hint_is_the_clis_hint(client: TestClient) -> None:
    start_502_storm()
    response = client.post("/api/hint", headers={HEADER: TOKEN})
    assert response.json()["exit_code"] == 0, response.json()
    assert state.load_active().hints_used == 1  # type: ignore[union-attr]
    assert len(client.get("/api/status").json()["hints"]) == 1


def test_a_check_returns_the_clis_json_document() -> None:
    script = "import json; print(json.dumps({'command': 'check', 'passed': True, 'conditions': []})); raise SystemExit(0)"
    outcome = Runner([sys.executable, "-c", script]).run("check")
    assert outcome.exit_code == 0 and outcome.result == {"command": "check", "passed": True, "conditions": []}


def test_one_action_at_a_time() -> None:
    runner = Runner([sys.executable, "-c", "import time; time.sleep(1)"])
    thread = threading.Thread(target=runner.run, args=("stop",))
    thread.start()
    time.sleep(0.3)
    with pytest.raises(Busy):
        runner.run("check")
    thread.join()


def test_every_scenario_declares_valid_signals() -> None:
    from harness import catalog

    for entry in catalog.scan()[0]:
        manifest = entry.manifest
        for spec in manifest.signals:
            if spec.kind == "http-status":
                assert isinstance(manifest, ScenarioManifest) and manifest.entrypoint, entry.id


def test_an_unknown_signal_kind_is_a_manifest_error(tmp_path: Any) -> None:
    from harness import catalog
    from harness.errors import BreakfixError

    source = catalog.find("502-storm").manifest_file.read_text()
    folder = tmp_path / "502-storm"
    folder.mkdir()
    (folder / "scenario.yaml").write_text(source.replace("kind: http-status", "kind: cpu-flames"))
    with pytest.raises(BreakfixError, match="signals"):
        load_manifest(folder / "scenario.yaml")


class Ticking:
    kind = "http-status"
    interval = 0.2

    def sample(self) -> dict[str, Any]:
        return {"total": 4, "statuses": {"502": 1, "200": 3}, "share_502": 0.25, "share_5xx": 0.25}


@pytest.fixture
def served() -> Iterator[tuple[int, Observer]]:
    sock = bind(0)
    port = sock.getsockname()[1]
    observer = Observer(resolve=lambda: ("502-storm", [Ticking()], []), current=lambda: "502-storm")
    server = uvicorn.Server(uvicorn.Config(create_app(port, TOKEN, observer=observer), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    yield port, observer
    server.should_exit = True
    thread.join(10)


def test_the_stream_pushes_points_and_stops_the_observer_when_the_page_goes(served: tuple[int, Observer]) -> None:
    import http.client

    port, observer = served
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/api/signals", headers={HEADER: TOKEN})
    response = connection.getresponse()
    assert response.status == 200 and response.getheader("content-type").startswith("text/event-stream")
    points = []
    while len(points) < 3:
        line = response.fp.readline().decode()
        if line.startswith("data: "):
            points.append(json.loads(line[6:]))
    assert points[0]["kind"] == "instance" and points[0]["entry"] == "502-storm"
    assert points[1]["kind"] == "http-status" and points[1]["value"]["share_502"] == 0.25
    assert observer.running
    connection.close()  # the tab is closed
    deadline = time.monotonic() + 10
    while observer.running:
        assert time.monotonic() < deadline, "the observer kept running after the page went away"
        time.sleep(0.1)


def test_pages_load_nothing_from_outside_the_package() -> None:
    import re

    from harness.ui.app import STATIC

    for page in STATIC.glob("*.html"):
        text = page.read_text()
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), f"{page.name} loads from another site"
        for asset in re.findall(r"""(?:src|href)="/static/([^"]+)\"""", text):
            assert (STATIC / asset).is_file(), f"{page.name}: /static/{asset} is not shipped"
    assert (STATIC / "uPlot.iife.min.js").stat().st_size > 30_000  # the vendored chart library itself, not a stub
