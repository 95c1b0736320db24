"""The kind provider: the cluster as kind's node containers (the default wherever a `kind` binary is on PATH)."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

import yaml

from harness.errors import BreakfixError
from harness.runtime.kubernetes.cluster import shape, taint_text
from harness.runtime.kubernetes.common import CLUSTER, INSTALL, POOL_LABEL, Progress, infra_dir, run, stream, version_tuple
from harness.runtime.kubernetes.kubelet import kubelet_settings, kubelet_view_of_host_memory, merge_kubelet_config

MIN_KIND = (0, 20)
MIN_DOCKER_MEMORY = 6 * 1024**3  # 3 nodes + two workers that may each grow to their 1.5 GiB budget


def tool_problems() -> list[str]:
    """Binaries and their versions; each problem says how to fix it."""
    problems = [INSTALL[tool] for tool in ("docker", "kind", "kubectl") if shutil.which(tool) is None]
    if not problems:
        kind_version = version_tuple(run(["kind", "version"], timeout=10))
        if kind_version[:2] < MIN_KIND:
            problems.append(f"kind {'.'.join(map(str, kind_version))} is too old: breakfix needs kind >= v{MIN_KIND[0]}.{MIN_KIND[1]}")
    return problems


def engine_problem() -> str | None:
    """What the Docker engine lacks for the kind cluster: enough memory.

    On cgroup v2 each kind node has its own cgroup namespace and its kubelet measures its node; on
    cgroup v1 every kubelet measures the whole machine, which the memory budget allows for (it is
    laid relative to what the kubelets see when the cluster is configured: see kubelet.py).
    """
    from harness.runtime.docker import connect

    try:
        info = connect(timeout=5).info()
    except BreakfixError as exc:
        return str(exc)
    total = int(info.get("MemTotal", 0))
    if total < MIN_DOCKER_MEMORY:
        return f"the Docker engine has {total / 1024**3:.1f} GiB of memory; the kind cluster needs {MIN_DOCKER_MEMORY / 1024**3:.0f} GiB"
    return None


KIND_CLUSTER_LABEL = "io.x-k8s.kind.cluster"  # kind labels each node container with its cluster's name


class KindCluster:
    """The shared `breakfix` kind cluster: created on first use, reused by every scenario after."""

    provider = "kind"

    def __init__(self, name: str = CLUSTER) -> None:
        self.name = name

    @property
    def context(self) -> str:
        return f"kind-{self.name}"

    def problems(self) -> list[str]:
        problems = tool_problems()
        if problems:
            return problems
        engine = engine_problem()
        return [engine] if engine else []

    def exists(self) -> bool:
        return shutil.which("kind") is not None and self.name in run(["kind", "get", "clusters"], timeout=20).split()

    def running(self) -> bool:
        """Every node container runs. After a reboot or an engine restart kind's nodes may stay exited
        while `kind get clusters` still lists the cluster (it reads container labels)."""
        try:
            states = run(["docker", "ps", "--all", "--filter", f"label={KIND_CLUSTER_LABEL}={self.name}",
                          "--format", "{{.State}}"], timeout=20).split()
        except BreakfixError:  # no engine to ask: no node container of ours runs either
            return False
        return bool(states) and all(state == "running" for state in states)

    def nodes(self) -> list[str]:
        return run(["kind", "get", "nodes", "--name", self.name], timeout=20).split()

    def workers(self) -> list[str]:
        return [node for node in self.nodes() if "control-plane" not in node]

    def export_kubeconfig(self, target: Path) -> None:
        """Refresh our kubeconfig from the cluster: it may have been recreated since we last wrote it."""
        target.parent.mkdir(parents=True, exist_ok=True)
        run(["kind", "export", "kubeconfig", "--name", self.name, "--kubeconfig", str(target)], timeout=30)

    def ensure(self, progress: Progress, kubeconfig: Path) -> None:
        if self.exists():
            if self.running():
                self.export_kubeconfig(kubeconfig)
                return
            progress(f"kind cluster {self.name} is stopped (its node containers exited): creating it afresh")
            self.delete(progress)
        kubeconfig.parent.mkdir(parents=True, exist_ok=True)
        progress(f"creating kind cluster {self.name} (first run only: a few minutes)")
        stream(["kind", "create", "cluster", "--name", self.name, "--config", str(infra_dir() / "cluster.yaml"),
                "--kubeconfig", str(kubeconfig), "--wait", "180s"], progress)
        self.configure_workers(progress, kubeconfig)

    def configure_workers(self, progress: Progress, kubeconfig: Path) -> None:
        """Our kubelet eviction/reservation settings on the workers that carry a budget, then a kubelet restart."""
        from harness.runtime.docker import connect

        info = connect().info()
        # cgroup v2: a node's kubelet sees the engine's memory; v1: what the machine has free now
        available = int(info["MemTotal"]) if str(info.get("CgroupVersion", "2")) == "2" else kubelet_view_of_host_memory()
        settings = kubelet_settings(available)
        budget = {node.name for node in shape(self.name) if node.memory_budget}
        for node in self.workers():
            if node not in budget:
                continue
            progress(f"kubelet settings on {node}")
            current = yaml.safe_load(run(["docker", "exec", node, "cat", "/var/lib/kubelet/config.yaml"]))
            merged = yaml.safe_dump(merge_kubelet_config(current, settings), sort_keys=False)
            run(["docker", "exec", "-i", node, "sh", "-c", "cat > /var/lib/kubelet/config.yaml"], stdin=merged)
            run(["docker", "exec", node, "systemctl", "restart", "kubelet"])
        taint = taint_text(yaml.safe_load((infra_dir() / "spot-taint.yaml").read_text()))
        kubectl = ["kubectl", "--kubeconfig", str(kubeconfig), "--context", self.context]
        run([*kubectl, "taint", "nodes", "-l", f"{POOL_LABEL}=spot", taint, "--overwrite"])
        progress("waiting for the nodes to be Ready again")
        run([*kubectl, "wait", "--for=condition=Ready", "nodes", "--all", "--timeout=180s"], timeout=200)

    def load_images(self, images: Iterable[str], progress: Progress) -> None:
        """`kind load` skips nodes that already hold the same image id, so this is cheap when warm."""
        for image in sorted(images):
            progress(f"loading image {image} into the nodes")
            run(["kind", "load", "docker-image", image, "--name", self.name], timeout=600)

    def delete(self, progress: Progress = lambda _: None) -> None:
        progress(f"deleting kind cluster {self.name}")
        run(["kind", "delete", "cluster", "--name", self.name], timeout=300)
