"""The bounded, low-rate observer behind the live graphs: it runs only while a page is subscribed.

One thread samples every signal of the active instance at the signal's own interval and keeps the
last BUFFER points. It follows the instance the CLI runs (a `start` in the terminal shows up within
a tick), and stops itself when the last page goes away, so a closed tab puts no load on the system.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from harness import catalog, state
from harness.errors import BreakfixError
from harness.ui.signals import Signal, Target, build, for_entry

BUFFER = 600  # points kept for a page that connects late: a few minutes of every signal
TICK = 0.25  # how often the thread looks for a due signal
INSTANCE_EVERY = 2.0  # seconds between reads of the active instance (a state file read)


def active_signals() -> tuple[str | None, list[Signal], list[str]]:
    """The active instance's entry id, its signals, and one line per signal that could not be built."""
    record = state.load_active()
    if record is None:
        return None, [], []
    try:
        entry = catalog.find(record.entry_id)
    except BreakfixError as exc:
        return record.entry_id, [], [str(exc)]
    built, problems = [], []
    for spec in for_entry(entry):
        try:
            built.append(build(spec, Target(entry, record.instance)))
        except (ValueError, BreakfixError) as exc:
            problems.append(f"{spec.kind}: {exc}")
    return record.entry_id, built, problems


class Observer:
    def __init__(self, resolve: Callable[[], tuple[str | None, list[Signal], list[str]]] = active_signals,
                 current: Callable[[], str | None] = state.active_instance) -> None:
        self.resolve = resolve
        self.current = current  # the active instance's id (= its entry id): cheap, read every 2 s
        self.points: deque[dict[str, Any]] = deque(maxlen=BUFFER)
        self.sequence = 0
        self.subscribers = 0
        self.samples = 0  # every sample taken, for the benchmark and the tests
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.stopping = threading.Event()

    # -- subscribers --------------------------------------------------------------------------------

    def subscribe(self) -> None:
        with self.lock:
            self.subscribers += 1
            if self.thread is None or not self.thread.is_alive():
                self.stopping.clear()
                self.thread = threading.Thread(target=self._run, name="breakfix-ui-observer", daemon=True)
                self.thread.start()

    def unsubscribe(self) -> None:
        with self.lock:
            self.subscribers = max(0, self.subscribers - 1)
            if self.subscribers == 0:
                self.stopping.set()

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def since(self, sequence: int) -> list[dict[str, Any]]:
        with self.lock:
            return [point for point in self.points if point["seq"] > sequence]

    def _publish(self, point: dict[str, Any]) -> None:
        with self.lock:
            self.sequence += 1
            self.points.append({"seq": self.sequence, "at": time.time(), **point})

    # -- the sampling thread ------------------------------------------------------------------------

    def _run(self) -> None:
        entry: str | None = None
        signals: list[Signal] = []
        due: list[float] = []
        checked_instance = 0.0
        first = True
        while not self.stopping.is_set():
            now = time.monotonic()
            if now - checked_instance >= INSTANCE_EVERY:  # the CLI may have started or stopped an instance meanwhile
                checked_instance = now
                if first or self.current() != entry:
                    first = False
                    self._close(signals)
                    entry, signals, problems = self.resolve()
                    due = [now] * len(signals)
                    self._publish({"kind": "instance", "entry": entry, "signals": [signal.kind for signal in signals], "problems": problems})
            for index, signal in enumerate(signals):
                if self.stopping.is_set() or time.monotonic() < due[index]:
                    continue
                due[index] = time.monotonic() + signal.interval
                try:
                    value = signal.sample()
                except Exception as exc:  # a signal that breaks is a point on the page, never a dead observer
                    value = {"error": f"{type(exc).__name__}: {exc}"}
                self.samples += 1
                self._publish({"kind": signal.kind, "entry": entry, "value": value})
            self.stopping.wait(TICK)
        self._close(signals)

    @staticmethod
    def _close(signals: list[Signal]) -> None:
        for signal in signals:
            close = getattr(signal, "close", None)
            if close is not None:
                close()
