"""Resource hogs: a memory hog or a CPU hog process started inside a service's container.

The hog runs in the container itself (like Chaos Mesh's stress chaos), so it is charged to
the container's cgroup: `docker stats` shows it and the container's limits apply to it -- a
memory hog past the limit is what the OOM killer picks. The hog is a python3 process (the
base image has it; its program is in harness/agents), tagged on its command line so revert finds it, and it ends on its own
after `seconds`, so a forgotten hog cannot run forever.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from pydantic import Field

from harness.agents import DIRECTORY as AGENTS
from harness.errors import BreakfixError
from harness.faults import Fault, FaultContext, FaultParams, register, size_at_least
from harness.sizes import size_bytes


class HogParams(FaultParams):
    service: str
    seconds: float = Field(default=3600, gt=0, le=86400, description="the hog ends on its own after this")


class MemoryHogParams(HogParams):
    size: Annotated[str, size_at_least("1m")] = Field(description="resident memory to hold, e.g. 64m")


class CpuHogParams(HogParams):
    workers: int = Field(default=1, ge=1, le=16, description="busy-looping processes, one CPU each")


HP = TypeVar("HP", bound=HogParams)


class Hog(Fault[HP]):
    """Start the hog unless it already runs; revert kills every process carrying the tag."""

    program: str  # the agent's file name in harness/agents, run with python3 -c

    @property
    def tag(self) -> str:
        return f"breakfix-hog-{self.key}"

    def arguments(self) -> list[str]:
        raise NotImplementedError

    def running(self, ctx: FaultContext) -> bool:
        code, _ = ctx.docker.exec(self.params.service, ["pgrep", "-f", self.tag])
        return code == 0

    def inject(self, ctx: FaultContext) -> None:
        params = self.params
        if self.running(ctx):
            return
        command = ["python3", "-c", (AGENTS / self.program).read_text(), *self.arguments(), str(params.seconds), self.tag]
        ctx.docker.container(params.service).exec_run(command, detach=True)
        ctx.save(self.key, {"tag": self.tag})

    def revert(self, ctx: FaultContext) -> None:
        if ctx.load(self.key) is None:
            return
        code, output = ctx.docker.exec(self.params.service, ["pkill", "-KILL", "-f", self.tag])
        if code not in (0, 1):  # 1: nothing matched, e.g. the hog already ended or was OOM-killed
            raise BreakfixError(f"{self.kind}: could not stop the hog in {self.params.service}: {output.strip()}")
        ctx.forget(self.key)


@register
class MemoryHog(Hog[MemoryHogParams]):
    kind = "memory-hog"
    program = "memory_hog.py"

    def arguments(self) -> list[str]:
        return [str(size_bytes(self.params.size))]


@register
class CpuHog(Hog[CpuHogParams]):
    kind = "cpu-hog"
    program = "cpu_hog.py"

    def arguments(self) -> list[str]:
        return [str(self.params.workers)]
