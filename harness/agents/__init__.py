"""Programs that run inside containers, and nothing else: standard library only (a unit test proves it).

- supervisor.py: PID 1 of every sandbox container (limits, output caps, the report line)
- batch.py: several short learner commands in one sandbox container
- findings.py: the helper a lab's grader script imports inside the sandbox (as breakfix_findings)
- chaos_proxy.py: the chaos-proxy fault's TCP proxy with toxics
- restart_loop.py: the restart-loop fault's crasher, in the host's PID namespace
- constants.py: the markers and names they share with the host side

Each is bound read-only into its container with the constants beside it (`volumes`); on the host
they are imported for their logic and constants (tests, fault parameter checks).
"""

from __future__ import annotations

from pathlib import Path

from .constants import MODULE_NAME

DIRECTORY = Path(__file__).parent


def volumes(directory: str, agents: dict[str, str]) -> dict[str, dict[str, str]]:
    """Read-only binds (docker-py `volumes=`) of `agents` (module name -> file name) into
    `directory` of a container, with the constants module they import beside them."""
    files = {**agents, "constants": f"{MODULE_NAME}.py"}
    return {str(DIRECTORY / f"{module}.py"): {"bind": f"{directory}/{name}", "mode": "ro"} for module, name in files.items()}
