"""Cluster providers: where the one Kubernetes runtime gets its cluster.

    kind      kind's node containers (the default where a `kind` binary is on PATH)
    offline   the same shape as host processes, from binaries built by scripts/k8s-offline.sh
              (CI, and any Linux root machine without kind)
    existing  the user's own cluster: their kubeconfig's current context (chosen explicitly)

BREAKFIX_K8S_PROVIDER names one; otherwise the first that can run here, kind before offline.
`existing` is never picked on its own: breakfix does not touch a user's cluster unless asked.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol, runtime_checkable

from harness.errors import BreakfixError
from harness.runtime.kubernetes.common import PROVIDER_ENV, Progress

NAMES = ("kind", "offline", "existing")


class ClusterProvider(Protocol):
    provider: str

    @property
    def context(self) -> str: ...

    def problems(self) -> list[str]:
        """Why this provider cannot run on this machine, each saying what to do; empty when it can."""
        ...

    def exists(self) -> bool:
        """Something of the cluster is there, running or not: what `delete` removes."""
        ...

    def running(self) -> bool:
        """The cluster can be asked now. One that exists without running (its processes gone with a reboot)
        holds nothing a teardown could reach: the next `ensure` clears it and creates it afresh."""
        ...

    def export_kubeconfig(self, target: Path) -> None:
        """Write the harness's kubeconfig for the cluster (one context, current)."""
        ...

    def ensure(self, progress: Progress, kubeconfig: Path) -> None:
        """Create the cluster, or reuse it, and write the harness's kubeconfig for it."""
        ...

    def load_images(self, images: Iterable[str], progress: Progress) -> None: ...

    def delete(self, progress: Progress = ...) -> None: ...


@runtime_checkable
class RoutedByHost(Protocol):
    """A provider whose NodePorts the host itself may route (its kube-proxy on the host's nat table and
    conntrack): settle waits for those rules, grading first forgets the connections they left unrouted."""

    def forget_unrouted_connections(self, node_ports: Iterable[int]) -> None: ...


@runtime_checkable
class KeepsMemoryBudget(Protocol):
    """A provider whose kubelets' eviction threshold is laid from the free memory they measure (the whole host's)."""

    def refresh_budget(self, progress: Progress) -> None: ...


def get(name: str) -> ClusterProvider:
    if name == "kind":
        from harness.runtime.kubernetes.providers.kind import KindCluster

        return KindCluster()
    if name == "offline":
        from harness.runtime.kubernetes.providers.offline import OfflineCluster

        return OfflineCluster()
    if name == "existing":
        from harness.runtime.kubernetes.providers.existing import ExistingCluster

        return ExistingCluster()
    raise BreakfixError(f"{PROVIDER_ENV}={name!r}: the Kubernetes providers are {', '.join(NAMES)}")


def chosen() -> str:
    """The provider's name: the one asked for, else kind where its binary is, else offline."""
    asked = os.environ.get(PROVIDER_ENV, "").strip()
    if asked:
        return asked
    return "kind" if shutil.which("kind") else "offline"


def select() -> ClusterProvider:
    return get(chosen())
