"""The Kubernetes runtime the lifecycle drives: the stack's manifests in the instance's namespace, on any provider."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import BreakfixError
from harness.manifest import ClusterSpec
from harness.runtime.kubernetes import host_routes, providers
from harness.runtime.kubernetes.api import Kube
from harness.runtime.kubernetes.cluster import DEFAULT_NEEDS, node_ports, shape, unmet
from harness.runtime.kubernetes.common import Progress, kubeconfig_path
from harness.runtime.kubernetes.images import WORKLOAD_IMAGE, ensure_workload_image, image_problems
from harness.runtime.kubernetes.manifests import images_of, load_manifests, schema_problems
from harness.runtime.kubernetes.providers.existing import ExistingCluster

if TYPE_CHECKING:
    from harness.registry import Setup
    from harness.settle import Readiness


def needs_problems(provider: providers.ClusterProvider, needs: ClusterSpec) -> list[str]:
    """What the provider's cluster lacks for `needs`, said before anything is created.

    kind and offline build breakfix's own shape (infra/kind/), so their answer is read from it;
    an existing cluster is asked for its live nodes and their kubelets' settings.
    """
    if isinstance(provider, ExistingCluster):
        nodes = provider.nodes()
        ports_note: list[str] = []
    else:
        nodes = shape()
        published = set(node_ports()) if provider.provider == "kind" else set(needs.node_ports)  # offline: every NodePort
        ports_note = [f"NodePort {port} is not published on 127.0.0.1 (infra/kind/cluster.yaml extraPortMappings)"
                      for port in needs.node_ports if port not in published]
    return [f"{provider.provider} cluster: {problem}" for problem in unmet(needs, nodes)] + ports_note


class KubernetesRuntime:
    """The Runtime for `requires: [kind]`: one shared cluster from the chosen provider, one namespace per instance."""

    name = "kubernetes"

    def __init__(self, instance: str, manifests_dir: Path, *, needs: ClusterSpec | None = None,
                 provider: providers.ClusterProvider | None = None, ready_timeout: float = 120) -> None:
        self.instance = instance
        self.manifests_dir = manifests_dir
        self.needs = needs or DEFAULT_NEEDS
        self.provider = provider or providers.select()
        self.kube = Kube(instance)
        self.ready_timeout = ready_timeout

    def preflight(self) -> list[str]:
        problems = self.provider.problems()
        if problems:
            return [f"Kubernetes provider {self.provider.provider}: {p}" for p in problems]
        try:
            documents = load_manifests(self.manifests_dir)
        except BreakfixError as exc:
            return [str(exc)]
        problems = needs_problems(self.provider, self.needs)
        problems += schema_problems(documents, str(self.manifests_dir))
        images = images_of(documents)
        # an existing cluster's nodes must hold the images already; the other providers load them from the engine
        problems += self.provider.missing_images(images) if isinstance(self.provider, ExistingCluster) else image_problems(images)
        return problems

    def provision(self, progress: Progress) -> None:
        documents = load_manifests(self.manifests_dir)
        self.provider.ensure(progress, kubeconfig_path())
        # every scenario, not only the ones that evict: pods of any scenario land on the budgeted worker, and
        # a threshold laid when the machine had more free memory keeps it tainted memory-pressure, unschedulable
        # (cache-rollout's provision failed so while a test suite ran beside it)
        if isinstance(self.provider, providers.KeepsMemoryBudget):
            self.provider.refresh_budget(progress)
        if WORKLOAD_IMAGE in images_of(documents):
            ensure_workload_image(progress)
        self.provider.load_images(images_of(documents), progress)
        self.kube.uncordon_workers()
        progress(f"namespace {self.kube.namespace}")
        self.kube.create_namespace()
        self.kube.apply(documents)
        self.kube.wait_ready(self.ready_timeout, progress)

    def teardown(self) -> None:
        if not self.provider.running():
            return  # no cluster to ask, or a dead one the next start recreates: nothing of ours is left in it
        self.provider.export_kubeconfig(kubeconfig_path())  # the cluster may have been recreated since start
        self.kube.delete_namespace()
        self.kube.delete_cluster_scoped()
        left = self.kube.cluster_scoped_leftovers()
        if left:
            raise BreakfixError(f"teardown left objects behind: {', '.join(left)}")

    def settle(self) -> list[Readiness]:
        """What must be live before a grading run: the namespace's rollouts and pod terminations, then the
        Services' endpoints and, where this host routes the cluster, kube-proxy's rules for them.

        One condition, in that order: settle drops a condition once it is live, and the endpoints are
        live for a moment mid-rollout before they change again."""
        from harness.settle import Readiness

        return [Readiness("rollouts, pod terminations and Service endpoints to settle", self._still_changing, timeout=90)]

    def before_grading(self) -> None:
        """On a provider whose host routes the NodePorts, forget the connections that reached no pod: they
        would refuse the probes' (see host_routes.forget_unrouted_connections)."""
        if isinstance(self.provider, providers.RoutedByHost):
            with contextlib.suppress(Exception):  # a cluster that cannot be asked: the checks say what is wrong
                self.provider.forget_unrouted_connections(self.kube.service_node_ports())

    def _still_changing(self) -> str | None:
        try:
            return self.kube.still_changing(host_routes.route_lag if isinstance(self.provider, providers.RoutedByHost) else None)
        except Exception:  # a cluster that cannot be asked has nothing in flight to wait for: the checks say what is wrong
            return None

    def env(self) -> dict[str, str]:
        return {"KUBECONFIG": str(kubeconfig_path()), "BREAKFIX_KUBE_CONTEXT": self.provider.context,
                "BREAKFIX_NAMESPACE": self.kube.namespace, "BREAKFIX_K8S_PROVIDER": self.provider.provider}


def from_setup(setup: Setup) -> KubernetesRuntime:
    """The registry's factory: the scenario's stack in the learner's workspace, with what it says it needs."""
    from harness.manifest import ScenarioManifest

    manifest = setup.manifest
    assert isinstance(manifest, ScenarioManifest), "only scenarios have a stack"
    return KubernetesRuntime(setup.instance, setup.workspace / manifest.stack, needs=manifest.cluster)
