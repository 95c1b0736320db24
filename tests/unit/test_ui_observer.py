"""The observer samples only while a page is subscribed, at each signal's interval, into a bounded buffer,
and follows the instance the CLI runs."""

from __future__ import annotations

import time
from typing import Any

from harness.ui import observer as observer_module
from harness.ui.observer import Observer


class Counting:
    kind = "http-status"

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.count = 0
        self.closed = False

    def sample(self) -> dict[str, Any]:
        self.count += 1
        return {"n": self.count}

    def close(self) -> None:
        self.closed = True


class Broken(Counting):
    def sample(self) -> dict[str, Any]:
        raise RuntimeError("engine went away")


def wait_for(predicate: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_runs_only_while_subscribed() -> None:
    signal = Counting()
    observer = Observer(resolve=lambda: ("502-storm", [signal], []), current=lambda: "502-storm")
    time.sleep(0.3)
    assert signal.count == 0 and not observer.running  # no page, no load
    observer.subscribe()
    observer.subscribe()
    wait_for(lambda: signal.count >= 3)
    observer.unsubscribe()
    assert observer.running  # one page is still open
    observer.unsubscribe()
    wait_for(lambda: not observer.running)
    stopped_at = signal.count
    time.sleep(0.4)
    assert signal.count == stopped_at and signal.closed


def test_each_signal_at_its_own_interval() -> None:
    fast, slow = Counting(0.1), Counting(1.0)
    observer = Observer(resolve=lambda: ("x", [fast, slow], []), current=lambda: "x")
    observer.subscribe()
    time.sleep(1.6)
    observer.unsubscribe()
    assert 2 <= slow.count <= 3
    assert fast.count >= 5 * slow.count - 5  # the tick (0.25 s) bounds the fast one


def test_points_are_numbered_and_bounded(monkeypatch: Any) -> None:
    monkeypatch.setattr(observer_module, "BUFFER", 5)
    observer = Observer(resolve=lambda: ("x", [Counting(0.01)], []), current=lambda: "x")
    observer.subscribe()
    wait_for(lambda: observer.sequence >= 12)
    observer.unsubscribe()
    points = observer.since(0)
    assert len(points) == 5
    assert [p["seq"] for p in points] == list(range(points[0]["seq"], points[0]["seq"] + 5))
    assert observer.since(points[-1]["seq"]) == []


def test_a_broken_signal_is_a_point_not_a_dead_observer() -> None:
    good = Counting()
    observer = Observer(resolve=lambda: ("x", [Broken(), good], []), current=lambda: "x")
    observer.subscribe()
    wait_for(lambda: good.count >= 3)
    observer.unsubscribe()
    errors = [p for p in observer.since(0) if p["kind"] == "http-status" and "error" in p["value"]]
    assert errors and "engine went away" in errors[0]["value"]["error"]


def test_follows_the_instance_the_cli_starts_and_stops(monkeypatch: Any) -> None:
    monkeypatch.setattr(observer_module, "INSTANCE_EVERY", 0.1)
    running: list[str | None] = [None]
    built: list[Counting] = []

    def resolve() -> tuple[str | None, list[Any], list[str]]:
        if running[0] is None:
            return None, [], []
        built.append(Counting())
        return running[0], [built[-1]], []

    observer = Observer(resolve=resolve, current=lambda: running[0])
    observer.subscribe()
    wait_for(lambda: any(p["kind"] == "instance" for p in observer.since(0)))
    running[0] = "502-storm"  # `breakfix start 502-storm` in a terminal
    wait_for(lambda: built and built[0].count >= 2)
    running[0] = None  # `breakfix stop`
    wait_for(lambda: built[0].closed)
    observer.unsubscribe()
    announced = [p["entry"] for p in observer.since(0) if p["kind"] == "instance"]
    assert announced == [None, "502-storm", None]
