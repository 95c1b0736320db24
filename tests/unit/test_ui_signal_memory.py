"""The memory signal's reading of the engine's documents: RSS (not the page cache) against the limit, restarts, OOM kills."""

from __future__ import annotations

from harness import catalog
from harness.ui.signals import Target, build
from harness.ui.signals.memory import Memory, reading

MIB = 1 << 20


def test_cgroup_v1_rss_not_usage() -> None:
    attrs = {"State": {"Status": "running", "OOMKilled": False}, "RestartCount": 0, "HostConfig": {"Memory": 64 * MIB}}
    stats = {"memory_stats": {"usage": 60 * MIB, "limit": 64 * MIB, "stats": {"total_rss": 20 * MIB, "cache": 40 * MIB}}}
    assert reading(attrs, stats) == {"rss": 20 * MIB, "limit": 64 * MIB, "restarts": 0, "oom_killed": False, "status": "running"}


def test_cgroup_v2_anon() -> None:
    stats = {"memory_stats": {"usage": 9 * MIB, "limit": 128 * MIB, "stats": {"anon": 7 * MIB, "file": 2 * MIB}}}
    assert reading({"State": {"Status": "running"}}, stats)["rss"] == 7 * MIB


def test_a_restart_after_an_oom_kill() -> None:
    attrs = {"State": {"Status": "restarting", "OOMKilled": True}, "RestartCount": 3, "HostConfig": {"Memory": 64 * MIB}}
    point = reading(attrs, None)  # not running: no stats, the limit from the container's own config
    assert point == {"rss": None, "limit": 64 * MIB, "restarts": 3, "oom_killed": True, "status": "restarting"}


def test_no_limit_is_none_not_the_host_memory() -> None:
    assert reading({"State": {}, "HostConfig": {"Memory": 0}}, {"memory_stats": {}})["limit"] is None


def test_built_from_the_memory_leak_manifest() -> None:
    entry = catalog.find("memory-leak")
    (spec,) = entry.manifest.signals
    signal = build(spec, Target(entry, entry.id))
    assert isinstance(signal, Memory) and signal.service == "pricing"
    assert signal.runtime.container_name("pricing") == "bf-memory-leak-pricing"
