"""The cluster breakfix runs on: its shape (infra/kind/), what a scenario needs of it (its manifest's
`cluster:`, harness.manifest.ClusterSpec), and whether one meets the other.

Every provider builds or finds a cluster of one shape: a tainted control plane and the workers
that infra/kind/cluster.yaml lists, with their labels, the spot taint (spot-taint.yaml) and the
workers' memory budget (kubelet-worker.yaml). A scenario states what it needs of that cluster
(its manifest's `cluster:`); `unmet` says, before anything is created, what a cluster lacks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from harness.manifest import ClusterSpec, WorkerSpec
from harness.runtime.kubernetes.common import CLUSTER, POOL_LABEL, infra_dir


@dataclass(frozen=True)
class Node:
    name: str
    role: str  # control-plane | worker
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[str, ...] = ()
    memory_budget: bool = False


def taint_text(taint: dict[str, Any]) -> str:
    return f"{taint['key']}={taint.get('value', '')}:{taint['effect']}"


CONTROL_PLANE_TAINT = "node-role.kubernetes.io/control-plane=:NoSchedule"


def shape(name: str = CLUSTER) -> list[Node]:
    """The nodes of breakfix's cluster, named as kind names them (<name>-control-plane, <name>-worker, <name>-worker2)."""
    config = yaml.safe_load((infra_dir() / "cluster.yaml").read_text())
    spot = taint_text(yaml.safe_load((infra_dir() / "spot-taint.yaml").read_text()))
    nodes, workers = [], 0
    for node in config["nodes"]:
        labels = dict(node.get("labels") or {})
        if node["role"] == "control-plane":
            nodes.append(Node(f"{name}-control-plane", "control-plane", labels, (CONTROL_PLANE_TAINT,)))
            continue
        workers += 1
        spot_pool = labels.get(POOL_LABEL) == "spot"
        # The memory budget is the general pool's only: where kubelets measure the whole machine
        # (cgroup v1, the offline provider) a budget on the spot worker too would put it under
        # pressure whenever pod-evictions loads the general one, and evict another scenario's pods.
        nodes.append(Node(f"{name}-worker{workers if workers > 1 else ''}", "worker", labels, (spot,) if spot_pool else (),
                          memory_budget=not spot_pool))
    return nodes


def node_ports() -> list[int]:
    """The NodePorts the kind cluster publishes on 127.0.0.1 (the offline cluster serves every NodePort there)."""
    config = yaml.safe_load((infra_dir() / "cluster.yaml").read_text())
    return [int(m["hostPort"]) for node in config["nodes"] for m in node.get("extraPortMappings") or []]


def unmet(needs: ClusterSpec, nodes: list[Node]) -> list[str]:
    """What `nodes` lack for `needs`, in the scenario's order: each needed worker matched to a distinct node
    (the most specific needs first, so a general need does not take the only node a specific one fits)."""
    problems: dict[int, str] = {}
    free = [node for node in nodes if node.role == "worker"]
    order = sorted(range(len(needs.workers)), key=lambda i: -(len(needs.workers[i].labels) + len(needs.workers[i].taints)))
    for index in order:
        need = needs.workers[index]
        match = next((node for node in free if _serves(node, need)), None)
        if match is None:
            wanted = ", ".join([*(f"{k}={v}" for k, v in need.labels.items()), *(f"taint {t}" for t in need.taints),
                                *(["breakfix's kubelet memory budget"] if need.memory_budget else [])]) or "any worker"
            problems[index] = f"no worker with {wanted}"
        else:
            free.remove(match)
    return [problems[index] for index in sorted(problems)]


def _serves(node: Node, need: WorkerSpec) -> bool:
    return (all(node.labels.get(k) == v for k, v in need.labels.items())
            and set(need.taints) == set(node.taints)
            and (node.memory_budget or not need.memory_budget))


# What today's scenarios need when their manifest says nothing (the cluster they were written for).
DEFAULT_NEEDS = ClusterSpec(
    workers=[WorkerSpec(labels={POOL_LABEL: "general"}, memory_budget=True),
             WorkerSpec(labels={POOL_LABEL: "spot"}, taints=["breakfix.dev/spot=true:NoSchedule"])],
)
