"""Deduplicate a stream of alerts in event time: one notification per alert key per window (see README.md)."""

from __future__ import annotations

from typing import Any


class Deduplicator:
    def __init__(self, window: float = 300.0, lateness: float = 60.0) -> None:
        self.window = window
        self.lateness = lateness
        self.dropped_late = 0

    def push(self, alert: dict[str, Any]) -> list[dict[str, Any]]:
        raise NotImplementedError("Deduplicator.push: your code here")

    def flush(self) -> list[dict[str, Any]]:
        raise NotImplementedError("Deduplicator.flush: your code here")
