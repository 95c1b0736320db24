"""What every signal plug-in shares: the protocol, what it is built against, and the registry of kinds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from harness.catalog import Entry
from harness.manifest import SignalSpec


class Signal(Protocol):
    kind: str
    interval: float  # seconds between samples

    def sample(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Target:
    """What a signal is built against: the entry and its running instance."""

    entry: Entry
    instance: str


Factory = Callable[[SignalSpec, Target], Signal]
FACTORIES: dict[str, Factory] = {}


def register(kind: str) -> Callable[[Factory], Factory]:
    def add(factory: Factory) -> Factory:
        FACTORIES[kind] = factory
        return factory

    return add
