"""Deduplicate a stream of alerts in event time: one notification per alert key per window.

Alerts are buffered in a min-heap by (event time, arrival) until the watermark -- the largest
event time seen minus the allowed lateness -- passes them: no alert that could still be accepted
is earlier, so they are decided in event-time order, whatever order they arrived in. An alert
is emitted when its key's last emission is at least `window` seconds older. Last emissions are
also queued in emission order, so keys that can no longer suppress anything are forgotten:
state stays bounded by what the window and the lateness can still reach.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from typing import Any

Key = tuple[str, str, frozenset[tuple[str, str]]]


class Deduplicator:
    def __init__(self, window: float = 300.0, lateness: float = 60.0) -> None:
        self.window = float(window)
        self.lateness = float(lateness)
        self.dropped_late = 0
        self._max_ts = -math.inf
        self._arrivals = 0
        self._pending: list[tuple[float, int, Key, dict[str, Any]]] = []
        self._last_emitted: dict[Key, float] = {}
        self._emissions: deque[tuple[float, Key]] = deque()
        self._flushed = False

    @property
    def watermark(self) -> float:
        return self._max_ts - self.lateness

    def push(self, alert: dict[str, Any]) -> list[dict[str, Any]]:
        if self._flushed:
            raise RuntimeError("push() after flush(): the stream has ended")
        ts, key = parse(alert)  # before any change: a malformed alert changes nothing
        if ts < self.watermark:
            self.dropped_late += 1
            return []
        self._arrivals += 1
        heapq.heappush(self._pending, (ts, self._arrivals, key, alert))
        self._max_ts = max(self._max_ts, ts)
        return self._release(self.watermark)

    def flush(self) -> list[dict[str, Any]]:
        self._flushed = True
        return self._release(math.inf)

    def _release(self, before: float) -> list[dict[str, Any]]:
        """Decide every pending alert earlier than `before`, in (event time, arrival) order."""
        emitted = []
        while self._pending and self._pending[0][0] < before:
            ts, _, key, alert = heapq.heappop(self._pending)
            last = self._last_emitted.get(key)
            if last is None or ts - last >= self.window:
                self._last_emitted[key] = ts
                self._emissions.append((ts, key))
                emitted.append(alert)
        # every alert still to be decided has ts >= before: an emission at or before
        # before - window cannot suppress any of them
        horizon = before - self.window
        while self._emissions and self._emissions[0][0] <= horizon:
            ts, key = self._emissions.popleft()
            if self._last_emitted.get(key) == ts:
                del self._last_emitted[key]
        return emitted


def parse(alert: Any) -> tuple[float, Key]:
    """(event time, dedup key) of a well-formed alert; ValueError says what is wrong otherwise."""
    if not isinstance(alert, dict):
        raise ValueError(f"an alert is a dict, got {type(alert).__name__}")  # noqa: TRY004 -- the contract: malformed means ValueError
    ts = alert.get("ts")
    if isinstance(ts, bool) or not isinstance(ts, (int, float)) or not math.isfinite(ts):
        raise ValueError(f"ts must be a finite number, got {ts!r}")
    for field in ("source", "name"):
        if not isinstance(alert.get(field), str) or not alert[field]:
            raise ValueError(f"{field} must be a non-empty string, got {alert.get(field)!r}")
    labels = alert.get("labels", {})
    if not isinstance(labels, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        raise ValueError(f"labels must map strings to strings, got {labels!r}")
    return float(ts), (alert["source"], alert["name"], frozenset(labels.items()))
