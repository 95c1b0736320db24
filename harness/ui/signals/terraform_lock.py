"""Each Terraform workspace's lock (who holds it, for what) and its state's serial."""

from __future__ import annotations

from typing import Any, Protocol

from harness.manifest import ScenarioManifest, SignalSpec
from harness.ui.signals.base import Target, register


class StateStore(Protocol):
    """What TerraformRuntime offers for reading a backend: the state object and the lock file of a workspace."""

    def state(self, workspace: str) -> Any: ...

    def lock(self, workspace: str) -> dict[str, Any] | None: ...


def workspace_point(store: StateStore, workspace: str) -> dict[str, Any]:
    read = store.state(workspace)
    lock = store.lock(workspace)
    point: dict[str, Any] = {"workspace": workspace, "serial": read.data.get("serial") if read.data else None,
                             "state_error": read.error, "locked": lock is not None}
    if lock is not None:
        point["lock"] = {key: lock.get(key) for key in ("ID", "Operation", "Who", "Created") if key in lock}
    return point


class TerraformLock:
    kind = "terraform-lock"
    interval = 3.0  # two S3 GETs per workspace against the local emulator; a lock changes on a human's time scale

    def __init__(self, store: StateStore, workspaces: list[str]) -> None:
        self.store = store
        self.workspaces = workspaces

    def sample(self) -> dict[str, Any]:
        try:
            return {"workspaces": [workspace_point(self.store, workspace) for workspace in self.workspaces]}
        except Exception as exc:  # an emulator gone away is a point the page shows, not an observer that dies
            return {"workspaces": [], "error": f"{type(exc).__name__}: {exc}"}


@register("terraform-lock")
def build(spec: SignalSpec, target: Target) -> TerraformLock:
    from harness.instance import Instance
    from harness.runtime.builtin import terraform

    manifest = target.entry.manifest
    if not isinstance(manifest, ScenarioManifest):
        raise ValueError(f"{target.entry.id}: the terraform-lock signal is for Terraform scenarios")
    return TerraformLock(terraform(Instance(target.entry).setup()), list(manifest.terraform.workspaces))
