"""restart-loop helper: SIGKILL a container's PID 1 each time it has been up for N seconds.

Runs in the host's PID namespace (stdlib only, from the breakfix base image). It finds the
container's processes by its id in /proc/<pid>/cgroup, so it follows the container across
restarts; to Docker the kill is a crash, and the restart policy restarts it.
usage: restart_loop.py <container-id> <seconds>
"""

from __future__ import annotations

import os
import signal
import sys
import time


def init_pid(container_id: str, proc: str = "/proc") -> int | None:
    """The lowest pid whose cgroup names the container: its PID 1 (docker-init or the app)."""
    found = []
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        try:
            with open(f"{proc}/{entry}/cgroup") as cgroup:
                if container_id in cgroup.read():
                    found.append(int(entry))
        except OSError:  # the process ended while we looked
            continue
    return min(found) if found else None


def main() -> None:
    container_id, every = sys.argv[1], float(sys.argv[2])
    seen: dict[int, float] = {}
    while True:
        pid = init_pid(container_id)
        now = time.monotonic()
        if pid is not None:
            first_seen = seen.setdefault(pid, now)
            if now - first_seen >= every:
                try:
                    os.kill(pid, signal.SIGKILL)
                    print(f"restart-loop: killed pid {pid} after {every:g}s up", flush=True)
                except ProcessLookupError:
                    pass
                seen.pop(pid, None)
        time.sleep(0.1)


if __name__ == "__main__":
    main()
