"""Live symptom signals: each one a small plug-in the observer samples at its own low rate.

A signal is built from the manifest's `signals:` spec and the active instance, and `sample()` returns one
JSON-able point. A sample never raises for the system's state (a stopped container, a missing state
object are points too, with `error`); it only reads, except http-status, whose few requests per second
are the whole of the observer's load on the system under test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from harness.catalog import Entry
from harness.manifest import ScenarioManifest, SignalSpec


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


def build(spec: SignalSpec, target: Target) -> Signal:
    from harness.ui.signals import http_status, lab_grading, memory, terraform_lock  # noqa: F401  (they register themselves)

    return FACTORIES[spec.kind](spec, target)


def for_entry(entry: Entry) -> list[SignalSpec]:
    """The manifest's signals; a lab that declares none still shows its grading runs."""
    if entry.manifest.signals or isinstance(entry.manifest, ScenarioManifest):
        return list(entry.manifest.signals)
    return [SignalSpec(kind="lab-grading")]
