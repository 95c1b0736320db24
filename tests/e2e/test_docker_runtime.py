"""The Docker runtime's provisioning against the real engine: waves, readiness, failures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from harness import catalog
from harness.errors import BreakfixError
from harness.grading.context import InstanceContext
from harness.runtime.compose import Stack
from harness.runtime.docker import DockerRuntime

pytestmark = pytest.mark.docker
IMAGE = "breakfix/base:bookworm"
# the engine's first healthcheck comes one interval after start: 5 minutes is "never" for a test
SLOW_HEALTHCHECK = {"test": ["CMD-SHELL", "test -e /tmp/ready"], "interval": "300s"}


@pytest.fixture
def runtime() -> Iterator[DockerRuntime]:
    runtime = DockerRuntime("runtime-e2e")
    runtime.teardown()  # anything left by an interrupted earlier run
    try:
        yield runtime
    finally:
        runtime.teardown()
    assert runtime.leftovers() == []


def service(command: str, **extra: object) -> dict:
    return {"image": IMAGE, "command": ["sh", "-c", command], "init": True, **extra}


def started_at(runtime: DockerRuntime, name: str) -> datetime:
    return datetime.fromisoformat(runtime.container(name).attrs["State"]["StartedAt"][:26])


def created_at(runtime: DockerRuntime, name: str) -> datetime:
    return datetime.fromisoformat(runtime.container(name).attrs["Created"][:26])


def test_ready_when_the_healthcheck_passes_not_when_the_engine_first_runs_it(runtime: DockerRuntime, tmp_path: Path) -> None:
    stack = Stack.model_validate({"services": {"app": service("sleep 0.5; touch /tmp/ready; sleep infinity", healthcheck=SLOW_HEALTHCHECK)}})
    runtime.provision(stack, tmp_path, wait=60)
    state = runtime.container("app").attrs["State"]
    assert state["Running"]
    assert state["Health"]["Status"] == "starting", "provisioning waited for the engine's own healthcheck schedule"
    assert runtime.exec("app", ["test", "-e", "/tmp/ready"])[0] == 0


def test_a_service_starts_after_what_it_depends_on_and_independent_ones_together(runtime: DockerRuntime, tmp_path: Path) -> None:
    stack = Stack.model_validate({"services": {
        "web": service("sleep infinity", depends_on=["api", "cache"]),
        "api": service("sleep infinity"),
        "cache": service("sleep infinity"),
    }})
    runtime.provision(stack, tmp_path)
    assert created_at(runtime, "web") >= max(started_at(runtime, "api"), started_at(runtime, "cache"))


def test_a_healthcheck_that_never_passes_fails_provisioning_naming_the_service(runtime: DockerRuntime, tmp_path: Path) -> None:
    stack = Stack.model_validate({"services": {"app": service("sleep infinity", healthcheck=SLOW_HEALTHCHECK)}})
    with pytest.raises(BreakfixError, match="services not healthy after 2s: app"):
        runtime.provision(stack, tmp_path, wait=2)


def test_a_service_that_exits_while_starting_shows_its_output(runtime: DockerRuntime, tmp_path: Path) -> None:
    stack = Stack.model_validate({"services": {"app": service("echo missing settings.json >&2; exit 3", healthcheck=SLOW_HEALTHCHECK)}})
    with pytest.raises(BreakfixError, match=r"(?s)service app exited with code 3 while starting.*missing settings.json"):
        runtime.provision(stack, tmp_path)


def test_processes_of_a_container_are_listed_by_the_engine(runtime: DockerRuntime, tmp_path: Path) -> None:
    runtime.provision(Stack.model_validate({"services": {"app": service("exec sleep infinity")}}), tmp_path)
    context = InstanceContext(runtime.instance, catalog.find("502-storm"), tmp_path)
    assert context.processes("app") == ["docker-init", "sleep"]
