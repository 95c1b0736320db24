"""A container's resident memory against its limit, with its restarts and OOM kills marked."""

from __future__ import annotations

from typing import Any

from harness.errors import BreakfixError
from harness.manifest import ScenarioManifest, SignalSpec
from harness.ui.signals.base import Target, register


def reading(attrs: dict[str, Any], stats: dict[str, Any] | None) -> dict[str, Any]:
    """One point from the engine's inspect document and a one-shot stats document (None: not running).

    RSS, not usage: cgroup v1's usage counts the page cache, which a leak graph must not climb with
    (cgroup v2 calls the same figure `anon`)."""
    state = attrs.get("State") or {}
    memory = (stats or {}).get("memory_stats") or {}
    counters = memory.get("stats") or {}
    rss = counters.get("total_rss", counters.get("rss", counters.get("anon")))
    limit = memory.get("limit") or (attrs.get("HostConfig") or {}).get("Memory") or None
    return {"rss": rss, "limit": limit, "restarts": int(attrs.get("RestartCount") or 0), "oom_killed": bool(state.get("OOMKilled")),
            "status": state.get("Status", "?")}


class Memory:
    kind = "memory"
    interval = 2.0  # the engine's stats call costs a cgroup read; leaks climb over minutes

    def __init__(self, instance: str, service: str) -> None:
        from harness.runtime.docker import DockerRuntime

        self.runtime = DockerRuntime(instance)
        self.service = service

    def sample(self) -> dict[str, Any]:
        try:
            container = self.runtime.container(self.service)
        except BreakfixError as exc:
            return {"service": self.service, "error": str(exc)}
        running = container.attrs.get("State", {}).get("Running")
        stats = container.stats(stream=False, one_shot=True) if running else None
        return {"service": self.service, **reading(container.attrs, stats)}


@register("memory")
def build(spec: SignalSpec, target: Target) -> Memory:
    manifest = target.entry.manifest
    service = spec.service or (manifest.entrypoint.service if isinstance(manifest, ScenarioManifest) and manifest.entrypoint else None)
    if service is None:
        raise ValueError(f"{target.entry.id}: the memory signal needs `service:` (or an entrypoint)")
    return Memory(target.instance, service)
