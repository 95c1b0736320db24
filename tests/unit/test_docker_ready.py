"""Readiness of a starting service when its container exits between our look and our exec (no Docker needed)."""

from __future__ import annotations

from typing import Any

import pytest
from docker.errors import APIError

from harness.errors import BreakfixError
from harness.runtime.compose import Service
from harness.runtime.docker import DockerRuntime


class ExitingContainer:
    """Running when first looked at; exited with code 3 by the time the engine starts the exec."""

    def __init__(self, refusal_status: int) -> None:
        self.attrs: dict[str, Any] = {"State": {"Status": "running", "Paused": False, "ExitCode": 0}}
        self.refusal_status = refusal_status

    def exec_run(self, command: Any) -> Any:
        raise APIError("refused", response=type("Response", (), {"status_code": self.refusal_status, "reason": "", "text": ""})())

    def reload(self) -> None:
        self.attrs["State"] = {"Status": "exited", "Paused": False, "ExitCode": 3}


def runtime_with(container: Any) -> DockerRuntime:
    runtime = DockerRuntime("demo")
    runtime.container = lambda name: container  # type: ignore[method-assign]
    return runtime


SERVICE = Service.model_validate({"image": "x", "restart": "no", "healthcheck": {"test": ["CMD", "true"], "interval": "30s"}})


@pytest.mark.parametrize("refusal_status", [409, 500], ids=["exec create refused", "exec start refused"])
def test_a_container_that_exits_under_the_healthcheck_exec_is_not_ready_yet(refusal_status: int) -> None:
    assert runtime_with(ExitingContainer(refusal_status))._ready("app", SERVICE) is False


def test_an_exec_refused_while_the_container_still_runs_is_an_error() -> None:
    container = ExitingContainer(500)
    container.reload = lambda: None  # type: ignore[method-assign]
    with pytest.raises(APIError):
        runtime_with(container)._ready("app", SERVICE)


def test_the_next_look_reports_the_exit() -> None:
    container = ExitingContainer(500)
    container.reload()
    runtime = runtime_with(container)
    runtime.logs = lambda name, tail=50: "missing settings.json"  # type: ignore[method-assign]
    with pytest.raises(BreakfixError, match=r"(?s)exited with code 3 while starting.*missing settings.json"):
        runtime._ready("app", SERVICE)


class RestartedContainer(ExitingContainer):
    """OOM-killed under the exec and already started again by its restart policy when we look."""

    def __init__(self) -> None:
        super().__init__(409)
        self.attrs["State"]["StartedAt"] = "2026-12-05T10:00:00.1Z"

    def reload(self) -> None:
        self.attrs["State"] = {"Status": "running", "Paused": False, "ExitCode": 137, "StartedAt": "2026-12-05T10:00:07.4Z"}


def test_an_exec_refused_by_a_container_that_restarted_meanwhile_reads_as_not_running() -> None:
    container = RestartedContainer()
    assert DockerRuntime("demo").exec_bounded(container, ["true"], 1) == -1  # type: ignore[arg-type]
