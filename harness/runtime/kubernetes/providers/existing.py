"""The existing provider: the user's own cluster (their kubeconfig's current context, or BREAKFIX_K8S_CONTEXT).

Docker Desktop, minikube, k3d, a real cluster: breakfix creates nothing cluster-wide there except
the PriorityClasses a scenario applies (labelled, removed at teardown), uses one namespace per
instance, and never deletes the cluster. It cannot load local images into the nodes nor set
kubelet eviction thresholds, so it says which scenarios it cannot run and why, from the live nodes
(their labels, taints, kubelet configs and the images they hold, with the command that loads them).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.errors import BreakfixError
from harness.runtime.kubernetes import host_routes
from harness.runtime.kubernetes.cluster import CONTROL_PLANE_TAINT, Node, taint_text
from harness.runtime.kubernetes.common import Progress, run

CONTEXT_ENV = "BREAKFIX_K8S_CONTEXT"
NODE_STATUS_MAX_IMAGES = 50  # the kubelet's default --node-status-max-images
# What the node controller taints a node with while a condition lasts (memory-pressure, not-ready,
# unschedulable while cordoned): the node's state at this instant, not its shape. A general worker
# under pressure for a minute is still the general worker; if the pressure lasts, the readiness wait
# names the taint the pods could not tolerate.
CONDITION_TAINTS = "node.kubernetes.io/"


def canonical_image(image: str) -> str:
    """The name the kubelet reports for an image reference: registry, repository and tag spelled out."""
    last = image.rsplit("/", 1)[-1]
    reference = image if ":" in last or "@" in last else f"{image}:latest"
    first = reference.split("/", 1)[0]
    if "/" in reference and ("." in first or ":" in first or first == "localhost"):
        return reference
    return f"docker.io/{reference}" if "/" in reference else f"docker.io/library/{reference}"


def load_command(context: str, images: list[str]) -> str:
    """How images of the local engine get into the nodes of a cluster of this context's kind."""
    listed = " ".join(images)
    if context.startswith("kind-"):
        return f"`kind load docker-image {listed} --name {context.removeprefix('kind-')}`"
    if context.startswith("k3d-"):
        return f"`k3d image import {listed} -c {context.removeprefix('k3d-')}`"
    if "minikube" in context:
        return f"`minikube image load {listed}`"
    return f"`docker save {listed} | ctr -n k8s.io images import -` on each node"


def shape_taints(item: dict[str, Any]) -> tuple[str, ...]:
    """A listed node's taints, less the ones of a passing condition."""
    return tuple(taint_text(t) for t in item["spec"].get("taints") or [] if not t["key"].startswith(CONDITION_TAINTS))


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

    def _listed_nodes(self) -> list[dict[str, Any]]:
        listed = json.loads(run(["kubectl", "--context", self.context, "get", "nodes", "-o", "json"], timeout=30))
        return list(listed["items"])

    def nodes(self) -> list[Node]:
        """The live nodes as our shape describes nodes; a budget is seen on the kubelet's own config (configz)."""
        found = []
        for item in self._listed_nodes():
            name, labels = item["metadata"]["name"], item["metadata"].get("labels") or {}
            taints = shape_taints(item)
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

    def missing_images(self, images: Iterable[str]) -> list[str]:
        """The images some schedulable node lacks, each saying how to load it for this kind of cluster.

        The pods never pull (imagePullPolicy: Never) and breakfix cannot reach into these nodes, so a
        missing image would leave them in ErrImageNeverPull until the readiness wait gives up."""
        lacking: dict[str, list[str]] = {}
        for item in self._listed_nodes():
            held = (item.get("status") or {}).get("images") or []
            if CONTROL_PLANE_TAINT in shape_taints(item) or len(held) >= NODE_STATUS_MAX_IMAGES:
                continue  # no workload lands there, or the kubelet's list is cut and cannot say what is absent
            names = {canonical_image(name) for image in held for name in image.get("names") or []}
            for image in images:
                if canonical_image(image) not in names:
                    lacking.setdefault(image, []).append(item["metadata"]["name"])
        if not lacking:
            return []
        how = load_command(self.context, sorted(lacking))
        return [f"image {image} is not on node(s) {', '.join(nodes)} and pods never pull it" for image, nodes in sorted(lacking.items())] + [
            f"build breakfix's images here with `python -m harness.runtime.kubernetes images`, then load them: {how}"]

    def load_images(self, images: Iterable[str], progress: Progress) -> None:
        """Nothing breakfix can load into: the nodes must hold the images already, which the preflight
        that precedes every provision has asked (missing_images)."""

    def forget_unrouted_connections(self, node_ports: Iterable[int]) -> None:
        """Where this machine is a node of the cluster (its kube-proxy's rules in the host's nat table), the
        same conntrack trap as the offline cluster's refuses the probes; elsewhere the host routes none of them."""
        host_routes.forget_unrouted_connections(host_routes.routed_here(node_ports))

    def delete(self, progress: Progress = lambda _: None) -> None:
        raise BreakfixError("breakfix never deletes a cluster it did not create (the existing provider)")
