"""One instance of an entry as every part sees it: its id, its workspace and its runtimes.

The lifecycle drives an instance through these; a grading run started by hand in the learner's
shell (`pytest -p harness.grading.plugin`) reaches the active one with `active()`, without the
lifecycle, so grading never imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness import registry, state
from harness.catalog import Entry, find

if TYPE_CHECKING:
    from harness.runtime import Runtime


@dataclass(frozen=True)
class Instance:
    """The instance id is the entry id: one active at a time."""

    entry: Entry

    @property
    def id(self) -> str:
        return self.entry.id

    @property
    def workspace(self) -> Path:
        """The learner's copy of what they may edit (a scenario's stack folder, a lab's starter)."""
        return state.instance_dir(self.id) / "workspace"

    def setup(self) -> registry.Setup:
        return registry.Setup(self.id, self.workspace, self.entry.directory, self.entry.manifest)

    def runtimes(self) -> dict[str, Runtime]:
        """Its runtimes by requirement, in the registry's order, built afresh on the workspace copy."""
        return registry.runtimes(self.setup())


def active() -> tuple[Instance, state.InstanceState]:
    """The active instance and its record; a BreakfixError says there is none."""
    record = state.require_active()
    return Instance(find(record.entry_id)), record
