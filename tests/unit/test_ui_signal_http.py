"""The http-status signal: a few requests a second through a real local server, counted by status."""

from __future__ import annotations

import importlib.util
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from harness import catalog
from harness.manifest import SignalSpec
from harness.ui.signals import Target, build
from harness.ui.signals.http_status import HttpStatus, summarize


def _probes_test_module() -> ModuleType:
    # the probes' own test server (/bad answers 502, /slow hangs 2 s): the signal is read against the same one
    spec = importlib.util.spec_from_file_location("breakfix_probe_server", Path(__file__).with_name("test_probes.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PROBES = _probes_test_module()


@pytest.fixture
def server() -> Iterator[int]:
    httpd = PROBES.QuietServer(("127.0.0.1", 0), PROBES.Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def test_one_second_counts_each_status_and_the_502_share(server: int) -> None:
    signal = HttpStatus(f"http://127.0.0.1:{server}", ["/ok", "/bad", "/ok"], rate=4)
    point = signal.sample()
    assert point["statuses"] == {"200": 3, "502": 1}
    assert point["share_502"] == pytest.approx(0.25) and point["share_5xx"] == pytest.approx(0.25)
    # the paths in turn, the next second going on where this one stopped: /bad, /ok, /ok, /bad
    assert signal.sample()["statuses"] == {"200": 2, "502": 2}


def test_the_rate_is_bounded_in_count_and_time(server: int) -> None:
    signal = HttpStatus(f"http://127.0.0.1:{server}", ["/ok"], rate=4)
    started = time.monotonic()
    sent = sum(signal.sample()["total"] for _ in range(3))
    seconds = time.monotonic() - started
    assert sent == 12  # 4 a second, never a burst
    assert 2.5 < seconds < 4.0


def test_a_hung_request_is_a_no_response_point_within_the_second(server: int) -> None:
    signal = HttpStatus(f"http://127.0.0.1:{server}", ["/slow"], rate=4, timeout=0.3)
    started = time.monotonic()
    point = signal.sample()
    assert time.monotonic() - started < 1.5
    assert point["statuses"].get("0", 0) >= 1 and point["share_5xx"] == 1.0


def test_nothing_listening_is_all_no_response() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    point = HttpStatus(f"http://127.0.0.1:{port}", ["/"], rate=2).sample()
    assert point == {"total": 2, "statuses": {"0": 2}, "share_5xx": 1.0, "share_502": 0.0}


def test_summarize_an_empty_second() -> None:
    assert summarize(Counter()) == {"total": 0, "statuses": {}, "share_5xx": 0.0, "share_502": 0.0}


def test_only_loopback_targets() -> None:
    with pytest.raises(ValueError):
        HttpStatus("http://10.0.0.1:8080", ["/"])


def test_built_from_the_502_storm_manifest() -> None:
    entry = catalog.find("502-storm")
    (spec,) = entry.manifest.signals
    signal = build(spec, Target(entry, entry.id))
    assert isinstance(signal, HttpStatus)
    assert signal.port == 8080 and any("acct_1002" in path for path in signal.paths)  # the enterprise account: a third of the requests


def test_a_scenario_without_an_entrypoint_cannot_have_it() -> None:
    entry = catalog.find("terraform-stale-lock")
    with pytest.raises(ValueError, match="entrypoint"):
        build(SignalSpec(kind="http-status"), Target(entry, entry.id))
