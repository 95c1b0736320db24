"""The terraform-lock signal: each workspace's lock holder and serial, from the backend reader's two calls."""

from __future__ import annotations

from typing import Any

from harness import catalog
from harness.runtime.terraform import TerraformRuntime, parse_state
from harness.ui.signals import Target, build
from harness.ui.signals.terraform_lock import TerraformLock


class Store:
    def __init__(self, states: dict[str, bytes | None], locks: dict[str, dict[str, Any]]) -> None:
        self.states, self.locks = states, locks

    def state(self, workspace: str) -> Any:
        return parse_state(self.states.get(workspace))

    def lock(self, workspace: str) -> dict[str, Any] | None:
        return self.locks.get(workspace)


STATE = b'{"version": 4, "lineage": "l-1", "serial": 7, "resources": []}'


def test_a_stale_lock_and_a_free_workspace() -> None:
    lock = {"ID": "abc", "Operation": "OperationTypeApply", "Who": "runner@ci", "Created": "2026-12-02T03:00:00Z", "Path": "x"}
    point = TerraformLock(Store({"prod": STATE, "staging": STATE}, {"prod": lock}), ["prod", "staging"]).sample()
    assert point == {"workspaces": [
        {"workspace": "prod", "serial": 7, "state_error": None, "locked": True,
         "lock": {"ID": "abc", "Operation": "OperationTypeApply", "Who": "runner@ci", "Created": "2026-12-02T03:00:00Z"}},
        {"workspace": "staging", "serial": 7, "state_error": None, "locked": False}]}


def test_a_corrupted_state_says_why_and_has_no_serial() -> None:
    (workspace,) = TerraformLock(Store({"default": b"{not json"}, {}), ["default"]).sample()["workspaces"]
    assert workspace["serial"] is None and "not valid JSON" in workspace["state_error"]


def test_an_unreachable_backend_is_a_point_with_the_error() -> None:
    class Gone(Store):
        def state(self, workspace: str) -> Any:
            raise ConnectionError("emulator is down")

    point = TerraformLock(Gone({}, {}), ["prod"]).sample()
    assert point["workspaces"] == [] and "emulator is down" in point["error"]


def test_built_from_the_stale_lock_manifest_for_each_workspace() -> None:
    entry = catalog.find("terraform-stale-lock")
    (spec,) = entry.manifest.signals
    signal = build(spec, Target(entry, entry.id))
    assert isinstance(signal, TerraformLock) and isinstance(signal.store, TerraformRuntime)
    assert signal.workspaces == ["prod", "staging"]
