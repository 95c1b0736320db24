"""Live symptom signals: each one a small plug-in the observer samples at its own low rate.

A signal is built from the manifest's `signals:` spec and the active instance, and `sample()` returns one
JSON-able point. A sample never raises for the system's state (a stopped container, a missing state
object are points too, with `error`); it only reads, except http-status, whose few requests per second
are the whole of the observer's load on the system under test.
"""

from __future__ import annotations

from harness.catalog import Entry
from harness.manifest import ScenarioManifest, SignalSpec
from harness.ui.signals.base import FACTORIES, Signal, Target

__all__ = ["Signal", "Target", "build", "for_entry"]


def build(spec: SignalSpec, target: Target) -> Signal:
    from harness.ui.signals import http_status, lab_grading, memory, terraform_lock  # noqa: F401  (they register themselves)

    return FACTORIES[spec.kind](spec, target)


def for_entry(entry: Entry) -> list[SignalSpec]:
    """The manifest's signals; a lab that declares none still shows its grading runs."""
    if entry.manifest.signals or isinstance(entry.manifest, ScenarioManifest):
        return list(entry.manifest.signals)
    return [SignalSpec(kind="lab-grading")]
