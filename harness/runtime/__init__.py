"""Runtimes: one module per backend (docker, aws, terraform, kind), like testinfra's backends,
each registered by requirement name in harness.registry (its factory, doctor findings, stack check).

A runtime knows nothing of scenarios: the lifecycle hands it what to provision and asks it to
check its own prerequisites, tear down, and export the environment a learner's shell needs.
This module imports nothing of breakfix at run time: every layer may name these protocols.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from harness.settle import Readiness

Progress = Callable[[str], None]


class Runtime(Protocol):
    name: str

    def preflight(self) -> list[str]:
        """Problems that would stop provisioning, each saying how to fix it; empty when ready."""
        ...

    def provision(self, progress: Progress) -> None: ...

    def teardown(self) -> None:
        """Remove everything this runtime created for the instance; raise if anything is left."""
        ...

    def env(self) -> dict[str, str]:
        """Variables for the learner's shell and for solution scripts."""
        ...


@runtime_checkable
class Settling(Protocol):
    """A runtime that knows when its part of the system is still changing (see harness.settle)."""

    def settle(self) -> list[Readiness]:
        """Readiness conditions the engine waits for, bounded, before every grading run."""
        ...


@runtime_checkable
class PreparesGrading(Protocol):
    """A runtime with something to clear once the system is live, just before a grading run starts:
    state the system keeps that no learner's fix could or should touch, yet would fail its checks."""

    def before_grading(self) -> None: ...
