"""The runtime of a coding lab: nothing runs between checks, so provisioning is empty; the checks'
sandbox (harness/runtime/sandbox.py) creates containers on demand, and teardown proves none is left."""

from __future__ import annotations

from docker.errors import ImageNotFound

from harness.errors import BreakfixError
from harness.images import BASE_IMAGE
from harness.runtime import Progress
from harness.runtime.docker import DockerRuntime


class SandboxRuntime:
    name = "sandbox"

    def __init__(self, instance: str) -> None:
        self.docker = DockerRuntime(instance)

    def preflight(self) -> list[str]:
        try:
            self.docker.client.images.get(BASE_IMAGE)
        except BreakfixError as exc:
            return [str(exc)]
        except ImageNotFound:
            return [f"image {BASE_IMAGE} is missing: run `breakfix images build`"]
        return []

    def provision(self, progress: Progress) -> None:
        """Nothing to start: the learner's code runs in a fresh container per check."""

    def teardown(self) -> None:
        self.docker.teardown()

    def env(self) -> dict[str, str]:
        return {}
