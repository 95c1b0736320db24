"""What a check may know about the running instance: its services, endpoints, workspace and runtimes.

The runner hands a grading run its context through `config.stash[CONTEXT]`; the fixtures read it
from there, so nothing global survives a run and the plugin never has to build an instance itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from docker.models.containers import Container

from harness.catalog import Entry
from harness.loopback import loopback_port
from harness.runtime.docker import DockerRuntime

if TYPE_CHECKING:
    from harness.runtime import Runtime


@dataclass
class InstanceContext:
    """Handed to checks as the `instance` fixture."""

    instance: str
    entry: Entry
    workspace: Path
    # the instance's runtimes by requirement name ("docker", "aws", "terraform", "kind"), as the
    # lifecycle built them: fixtures reach a runtime here, never by building one of their own
    runtimes: Mapping[str, Runtime] = field(default_factory=dict)

    def runtime(self, requirement: str) -> Runtime:
        try:
            return self.runtimes[requirement]
        except KeyError:
            known = ", ".join(self.runtimes) or "none"
            raise LookupError(f"{self.entry.id} has no {requirement} runtime (its runtimes: {known})") from None

    @cached_property
    def docker(self) -> DockerRuntime:
        return DockerRuntime(self.instance)

    @property
    def entrypoint_url(self) -> str:
        entrypoint = getattr(self.entry.manifest, "entrypoint", None)
        if entrypoint is None:
            raise LookupError(f"{self.entry.id} declares no entrypoint")
        return str(entrypoint.url)

    def container(self, service: str) -> Container:
        return self.docker.container(service)

    def container_name(self, service: str) -> str:
        return self.docker.container_name(service)

    def exec(self, service: str, command: list[str] | str) -> tuple[int, str]:
        return self.docker.exec(service, command)

    def processes(self, service: str) -> list[str]:
        """Command names of the processes running in the service's container (`docker top`: the
        engine lists them from the host, no exec and no tool inside the container needed)."""
        listing = self.container(service).top(ps_args="-o pid,comm")
        column = listing["Titles"].index("COMMAND")
        return [row[column] for row in listing["Processes"]]

    def publisher_of(self, host_port: int) -> Container | None:
        """The running container that publishes 127.0.0.1:<host_port>, whoever created it."""
        # one list call (ports included) instead of inspecting every container on the engine
        for summary in self.docker.client.api.containers():
            if any(port.get("PublicPort") == host_port for port in summary.get("Ports", [])):
                return self.docker.client.containers.get(summary["Id"])
        return None

    def load_balancer_problem(self, service: str = "lb") -> str | None:
        """None when 127.0.0.1:<the entrypoint's port> is published by `service`'s container (the stack's
        load balancer); otherwise the one line a learner reads: nothing publishes it, or who does."""
        port = loopback_port(self.entrypoint_url)
        publisher = self.publisher_of(port)
        if publisher is None:
            return f"nothing publishes 127.0.0.1:{port}: is the load balancer running?"
        expected = self.container_name(service)
        if publisher.name != expected:
            return f"127.0.0.1:{port} is published by {publisher.name}, not the load balancer {expected}"
        return None

    def stopped(self, service: str) -> str | None:
        """None while the service's container runs (and is not paused); otherwise its engine status."""
        state = self.container(service).attrs["State"]
        return None if state["Running"] and not state["Paused"] else str(state["Status"])


CONTEXT = pytest.StashKey[InstanceContext]()


def active_context() -> InstanceContext:
    """The active instance's context, for a plain `pytest -p harness.grading.plugin` run: what the
    lifecycle would hand over, without the lifecycle (it imports the grading runner)."""
    from harness.instance import active

    instance, _ = active()
    return InstanceContext(instance.id, instance.entry, instance.workspace, instance.runtimes())
