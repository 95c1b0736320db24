"""in_parallel: every call at once, results in order, and a Ctrl-C that waits for the calls in flight."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from harness.runtime.docker import in_parallel


def test_results_come_back_in_order() -> None:
    assert in_parallel(lambda name: name.upper(), ["b", "a", "c"]) == ["B", "A", "C"]
    assert in_parallel(lambda name: name, []) == []


def test_a_failing_call_raises_after_the_others_finished() -> None:
    finished: list[str] = []

    def action(name: str) -> str:
        if name == "bad":
            raise ValueError("no such image")
        time.sleep(0.2)
        finished.append(name)
        return name

    with pytest.raises(ValueError, match="no such image"):
        in_parallel(action, ["x", "bad", "y"])
    assert sorted(finished) == ["x", "y"]


def test_a_ctrl_c_waits_for_every_call_in_flight() -> None:
    finished: list[str] = []
    # pressed once every call is in flight, from a worker: it lands whether the caller is still starting
    # workers (held back until then) or already waiting for them; a timer would race the start under load
    all_in_flight = threading.Barrier(3, action=lambda: os.kill(os.getpid(), signal.SIGINT))

    def action(name: str) -> None:
        all_in_flight.wait(timeout=10)
        time.sleep(0.5)  # an API call the engine is still working on
        finished.append(name)

    with pytest.raises(KeyboardInterrupt):
        in_parallel(action, ["app-1", "app-2", "lb"])
    assert sorted(finished) == ["app-1", "app-2", "lb"], "cleanup would run while calls still create things"
