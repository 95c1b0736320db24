"""The workers' kubelet settings: a memory budget per worker, whatever the machine.

Every kubelet of ours measures memory where it runs: a kind node on cgroup v2 sees its own
cgroup, but a kind node on cgroup v1 and every node of the offline (host) cluster see the whole
machine. The eviction threshold is therefore laid relative to what the kubelet will measure at
the moment the cluster is configured: `memory.available` = (what the kubelet sees available
now) - nodeMemory, so each worker behaves like a machine with `nodeMemory` free for pods.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from harness.errors import BreakfixError
from harness.runtime.kubernetes.common import infra_dir
from harness.runtime.kubernetes.objects import parse_quantity

MARGIN = 512 * 1024**2  # below this much headroom a worker could not even start its pods


def kubelet_settings(available_bytes: int, fragment: dict[str, Any] | None = None) -> dict[str, Any]:
    """Our worker kubelet settings (kubelet-worker.yaml) with the memory threshold computed from `available_bytes`."""
    settings = dict(fragment or yaml.safe_load((infra_dir() / "kubelet-worker.yaml").read_text()))
    node_memory = int(parse_quantity(settings.pop("nodeMemory")))
    if available_bytes <= node_memory + MARGIN:
        raise BreakfixError(f"the cluster's nodes see {available_bytes // 1024**2} MiB available: "
                            f"breakfix's workers need more than {(node_memory + MARGIN) // 1024**2}")
    eviction = dict(settings["evictionHard"])
    eviction["memory.available"] = f"{(available_bytes - node_memory) // 1024**2}Mi"
    settings["evictionHard"] = eviction
    return settings


def merge_kubelet_config(current: dict[str, Any], ours: dict[str, Any]) -> dict[str, Any]:
    """A kubelet config (kubeadm's, or the offline provider's base) with our keys laid over it; apiVersion/kind stay."""
    merged = dict(current)
    merged.update({key: value for key, value in ours.items() if key not in ("apiVersion", "kind")})
    return merged


def kubelet_view_of_host_memory(cgroup_root: Path = Path("/sys/fs/cgroup")) -> int:
    """What a kubelet on this host computes as memory.available now: capacity - working set of the root cgroup.

    The kubelet's working set is usage minus inactive file pages, so page cache that can be dropped
    counts as available; the same formula here means our threshold starts where the kubelet stands.
    """
    capacity = _meminfo_total()
    v1 = cgroup_root / "memory"
    if (v1 / "memory.usage_in_bytes").is_file():
        usage = int((v1 / "memory.usage_in_bytes").read_text())
        inactive = _stat(v1 / "memory.stat").get("total_inactive_file", 0)
    else:  # cgroup v2: the root has no memory.current; the kernel's own accounting of used memory is the same figure
        meminfo = _meminfo()
        usage = capacity - meminfo.get("MemFree", 0)
        inactive = meminfo.get("Inactive(file)", 0)
    return capacity - max(usage - inactive, 0)


def _stat(path: Path) -> dict[str, int]:
    values = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition(" ")
        if value.strip().isdigit():
            values[key] = int(value)
    return values


def _meminfo() -> dict[str, int]:
    values = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[key] = int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
    return values


def _meminfo_total() -> int:
    return _meminfo()["MemTotal"]
