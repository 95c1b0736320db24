"""The existing provider: the user's own cluster (their kubeconfig's current context, or BREAKFIX_K8S_CONTEXT).

Docker Desktop, minikube, k3d, a real cluster: breakfix creates nothing cluster-wide there except
the PriorityClasses a scenario applies (labelled, removed at teardown), uses one namespace per
instance, and never deletes the cluster. It cannot load local images into the nodes nor set
kubelet eviction thresholds, so it says which scenarios it cannot run and why, from the live nodes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from harness.errors import BreakfixError
from harness.runtime.kubernetes.cluster import CONTROL_PLANE_TAINT, Node
from harness.runtime.kubernetes.common import Progress, run

CONTEXT_ENV = "BREAKFIX_K8S_CONTEXT"


class ExistingCluster:
    provider = "existing"

    def __init__(self) -> None:
        self.source = os.environ.get("KUBECONFIG", str(Path.home() / ".kube" / "config"))

    @property
    def context(self) -> str:
        named = os.environ.get(CONTEXT_ENV)
        if named:
            return named
        try:
            return run(["kubectl", "config", "current-context"], timeout=10).strip()
        except BreakfixError:
            return ""

    def problems(self) -> list[str]:
        if not self.context:
            return [f"no current kubeconfig context ({self.source}): `kubectl config use-context NAME` or set {CONTEXT_ENV}"]
        try:
            run(["kubectl", "--context", self.context, "get", "--raw", "/readyz"], timeout=15)
        except BreakfixError as exc:
            return [f"context {self.context} does not answer: {exc}"]
        return []

    def exists(self) -> bool:
        return bool(self.context)

    def running(self) -> bool:
        return self.exists()  # its API's health is the checks' to report

    def nodes(self) -> list[Node]:
        """The live nodes as our shape describes nodes; a budget is seen on the kubelet's own config (configz)."""
        listed = json.loads(run(["kubectl", "--context", self.context, "get", "nodes", "-o", "json"], timeout=30))
        found = []
        for item in listed["items"]:
            name, labels = item["metadata"]["name"], item["metadata"].get("labels") or {}
            taints = tuple(f"{t['key']}={t.get('value', '')}:{t['effect']}" for t in item["spec"].get("taints") or [])
            role = "control-plane" if CONTROL_PLANE_TAINT in taints or "node-role.kubernetes.io/control-plane" in labels else "worker"
            found.append(Node(name, role, labels, taints, memory_budget=self._budget(name)))
        return found

    def _budget(self, node: str) -> bool:
        """Whether this node's kubelet evicts at a memory threshold set like ours (not the 100Mi default)."""
        try:
            config = json.loads(run(["kubectl", "--context", self.context, "get", "--raw", f"/api/v1/nodes/{node}/proxy/configz"], timeout=15))
        except (BreakfixError, ValueError):
            return False
        threshold = (config.get("kubeletconfig", {}).get("evictionHard") or {}).get("memory.available", "100Mi")
        return threshold not in ("100Mi", "")

    def export_kubeconfig(self, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        flat = run(["kubectl", "config", "view", "--minify", "--flatten", "--context", self.context], timeout=15)
        target.write_text(flat)
        target.chmod(0o600)

    def ensure(self, progress: Progress, kubeconfig: Path) -> None:
        problems = self.problems()
        if problems:
            raise BreakfixError(problems[0])
        self.export_kubeconfig(kubeconfig)

    def load_images(self, images: Iterable[str], progress: Progress) -> None:
        """Nothing to load into: the nodes must already hold the images (they are never pulled)."""

    def delete(self, progress: Progress = lambda _: None) -> None:
        raise BreakfixError("breakfix never deletes a cluster it did not create (the existing provider)")
