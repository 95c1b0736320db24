"""Container faults: stop, kill, pause, restart loop, and memory/CPU limit changes at runtime.

Each acts on one service's container through the engine API, saves what it changed in the
fault context, and puts exactly that back on revert.
"""

from __future__ import annotations

import contextlib
import signal
import time
from typing import Annotated, TypeVar

from docker.errors import APIError
from pydantic import Field, field_validator

from harness import agents
from harness.errors import BreakfixError
from harness.faults import Fault, FaultContext, FaultParams, register, size_at_least
from harness.images import BASE_IMAGE
from harness.runtime.docker import remove_container
from harness.sizes import size_bytes

AGENT_DIR = "/opt/breakfix"  # where a helper container finds its agent (harness/agents, bound read-only)


class ServiceParams(FaultParams):
    service: str


def update_container(ctx: FaultContext, service: str, resources: dict[str, int]) -> None:
    """`docker update` with the engine's own field names (docker-py's update() lacks NanoCpus)."""
    api = ctx.docker.client.api
    container = ctx.docker.container(service)
    try:
        api._result(api._post_json(api._url("/containers/{0}/update", container.id), data=resources), True)
    except APIError as exc:
        raise BreakfixError(f"cannot update {service} with {resources}: {exc.explanation}") from None


def remove_helper(ctx: FaultContext, service: str) -> None:
    """Remove a fault's helper container (proxy, crasher) if it is there."""
    with contextlib.suppress(BreakfixError):  # no such container: nothing to remove
        remove_container(ctx.docker.container(service))


def host_resources(ctx: FaultContext) -> dict[str, int]:
    """What "no limit" amounts to on this engine: docker update cannot remove a limit once set."""
    info = ctx.docker.client.info()
    return {"memory": int(info["MemTotal"]), "nano_cpus": int(info["NCPU"]) * 10**9}


class StopParams(ServiceParams):
    timeout: int = Field(default=1, ge=0, le=60, description="seconds between SIGTERM and SIGKILL")


class KillParams(ServiceParams):
    signal: str = "SIGKILL"

    @field_validator("signal")
    @classmethod
    def _known(cls, value: str) -> str:
        name = value.upper() if value.upper().startswith("SIG") else f"SIG{value.upper()}"
        if name not in signal.Signals.__members__:
            raise ValueError(f"{value!r} is not a signal name such as SIGKILL, SIGTERM or SIGHUP")
        return name


class RestartLoopParams(ServiceParams):
    every: float = Field(default=5, ge=0.5, le=600, description="seconds of uptime before each crash")


class MemoryLimitParams(ServiceParams):
    limit: Annotated[str, size_at_least("6m")] = Field(description="e.g. 64m")


class CpuLimitParams(ServiceParams):
    cpus: float = Field(gt=0, le=64)


SP = TypeVar("SP", bound=ServiceParams)


class RestartedOnRevert(Fault[SP]):
    """A fault that takes the container down; revert starts it again if it ran before."""

    def revert(self, ctx: FaultContext) -> None:
        saved = ctx.load(self.key)
        if saved is None:
            return
        container = ctx.docker.container(self.params.service)
        container.reload()
        if saved["was_running"] and container.status != "running":
            container.start()
        ctx.forget(self.key)


@register
class ContainerStop(RestartedOnRevert[StopParams]):
    kind = "container-stop"
    live_state = "a stopped container"

    def inject(self, ctx: FaultContext) -> None:
        container = ctx.docker.container(self.params.service)
        if ctx.load(self.key) is None:
            ctx.save(self.key, {"was_running": container.status == "running"})
        container.stop(timeout=self.params.timeout)


@register
class ContainerKill(RestartedOnRevert[KillParams]):
    """A signal to the container's main process, as `docker kill --signal` sends it."""

    kind = "container-kill"

    def inject(self, ctx: FaultContext) -> None:
        if ctx.load(self.key) is not None:  # one kill per inject, however often inject runs
            return
        container = ctx.docker.container(self.params.service)
        ctx.save(self.key, {"was_running": container.status == "running"})
        if container.status == "running":
            container.kill(signal=self.params.signal)


@register
class ContainerPause(Fault[ServiceParams]):
    """Freeze every process of the container (cgroup freezer): connections hang instead of failing."""

    kind = "container-pause"
    live_state = "a paused container"

    def inject(self, ctx: FaultContext) -> None:
        container = ctx.docker.container(self.params.service)
        if ctx.load(self.key) is None:
            ctx.save(self.key, {"was_paused": container.status == "paused"})
        for attempt in range(10):
            container.reload()
            if container.status == "paused":
                return
            try:
                container.pause()
            except APIError as exc:
                # the cgroup freezer gives up while processes are being created in the container
                # (a healthcheck's exec, say); runc itself only retries briefly
                if "unable to freeze" not in str(exc) or attempt == 9:
                    raise BreakfixError(f"{self.kind}: cannot pause {self.params.service}: {exc.explanation}") from None
                time.sleep(0.2)

    def revert(self, ctx: FaultContext) -> None:
        saved = ctx.load(self.key)
        if saved is None:
            return
        container = ctx.docker.container(self.params.service)
        if not saved["was_paused"] and container.status == "paused":
            container.unpause()
        ctx.forget(self.key)


@register
class RestartLoop(Fault[RestartLoopParams]):
    """The container crashes every `every` seconds of uptime and its restart policy brings it back.

    A kill through the engine API counts as a manual stop, which no restart policy restarts, so
    the crash comes from a helper container in the host's PID namespace that SIGKILLs the
    target's PID 1 -- to Docker that is a crash, exactly like an OOM kill (exit code 137), and
    Docker's restart back-off applies. The helper is labelled with the instance: teardown
    removes it with everything else.
    """

    kind = "restart-loop"

    def helper(self, ctx: FaultContext) -> str:
        return f"chaos-restart-{self.params.service}"

    def inject(self, ctx: FaultContext) -> None:
        params = self.params
        target = ctx.docker.container(params.service)
        if ctx.load(self.key) is None:
            ctx.save(self.key, {"restart_policy": target.attrs["HostConfig"]["RestartPolicy"]})
        if target.attrs["HostConfig"]["RestartPolicy"].get("Name", "no") in ("", "no"):
            target.update(restart_policy={"Name": "always"})  # no policy, no loop
        try:
            ctx.docker.container(self.helper(ctx))
            return  # already looping
        except BreakfixError:
            pass
        ctx.docker.client.containers.run(
            BASE_IMAGE,
            ["python3", f"{AGENT_DIR}/restart_loop.py", target.id, str(params.every)],
            name=ctx.docker.container_name(self.helper(ctx)),
            labels=ctx.docker.labels(self.helper(ctx)),
            pid_mode="host",
            network_mode="none",
            volumes=agents.volumes(AGENT_DIR, {"restart_loop": "restart_loop.py"}),
            init=True,
            detach=True,
        )

    def revert(self, ctx: FaultContext) -> None:
        params = self.params
        remove_helper(ctx, self.helper(ctx))
        saved = ctx.load(self.key)
        if saved is None:
            return
        target = ctx.docker.container(params.service)
        target.update(restart_policy=saved["restart_policy"])
        target.reload()
        if target.status not in ("running", "restarting"):
            target.start()
        ctx.forget(self.key)


class LimitFault(Fault[SP]):
    """Shared by the memory and CPU limits: save the container's own fields once, update, restore."""

    live_state = "a container's resource limits (`docker update`)"
    fields: tuple[str, ...]

    def wanted(self, ctx: FaultContext) -> dict[str, int]:
        raise NotImplementedError

    def unlimited(self, ctx: FaultContext, field: str) -> int:
        raise NotImplementedError

    def inject(self, ctx: FaultContext) -> None:
        service = self.params.service
        if ctx.load(self.key) is None:
            config = ctx.docker.container(service).attrs["HostConfig"]
            ctx.save(self.key, {field: config.get(field) or 0 for field in self.fields})
        update_container(ctx, service, self.wanted(ctx))

    def revert(self, ctx: FaultContext) -> None:
        saved = ctx.load(self.key)
        if saved is None:
            return
        original = {field: value or self.unlimited(ctx, field) for field, value in saved.items()}
        update_container(ctx, self.params.service, original)
        ctx.forget(self.key)


@register
class MemoryLimit(LimitFault[MemoryLimitParams]):
    """Change the memory limit (and swap, the same: no swap) of a running container."""

    kind = "memory-limit"
    fields = ("Memory", "MemorySwap")

    def wanted(self, ctx: FaultContext) -> dict[str, int]:
        size = size_bytes(self.params.limit)
        return {"Memory": size, "MemorySwap": size}

    def unlimited(self, ctx: FaultContext, field: str) -> int:
        return host_resources(ctx)["memory"] if field == "Memory" else -1


@register
class CpuLimit(LimitFault[CpuLimitParams]):
    """Change how many CPUs a running container may use (`docker update --cpus`)."""

    kind = "cpu-limit"
    fields = ("NanoCpus",)

    def wanted(self, ctx: FaultContext) -> dict[str, int]:
        return {"NanoCpus": int(self.params.cpus * 1e9)}

    def unlimited(self, ctx: FaultContext, field: str) -> int:
        return host_resources(ctx)["nano_cpus"]
