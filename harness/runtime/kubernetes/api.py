"""The harness's API handle on one instance's namespace (what the runtime, faults and checks use)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import cached_property
from typing import Any

from harness.errors import BreakfixError
from harness.runtime.kubernetes.common import (
    FIELD_MANAGER,
    INSTANCE_LABEL,
    LAST_APPLIED,
    POOL_LABEL,
    Progress,
    kubeconfig_path,
    namespace_for,
)
from harness.runtime.kubernetes.host_routes import API_SERVICE, API_SERVICE_PORT
from harness.runtime.kubernetes.objects import (
    SERVICE_NAME_LABEL,
    pod_troubles,
    proxied_endpoints,
    rolled_out,
    rollout_in_progress,
    statefulset_ready,
    terminating,
    unpublished,
)
from harness.timing import wait_until

# (namespace, where kube-proxy is to send each of its Service ports, where the API server's) -> what lags
RouteLag = Callable[[str, dict[str, set[str]], set[str]], str | None]


class Kube:
    """One instance's namespace, through the harness's kubeconfig (its current context: whichever provider made it)."""

    def __init__(self, instance: str) -> None:
        self.instance = instance
        self.namespace = namespace_for(instance)

    @cached_property
    def api_client(self) -> Any:
        from kubernetes import config

        path = kubeconfig_path()
        if not path.is_file():
            raise BreakfixError(f"no kubeconfig at {path}: no cluster has been set up yet; `breakfix start` sets one up")
        return config.new_client_from_config(config_file=str(path))  # type: ignore[no-untyped-call]  # untyped in kubernetes 37

    @cached_property
    def core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.api_client)

    @cached_property
    def apps(self) -> Any:
        from kubernetes import client

        return client.AppsV1Api(self.api_client)

    @cached_property
    def policy(self) -> Any:
        from kubernetes import client

        return client.PolicyV1Api(self.api_client)

    @cached_property
    def discovery(self) -> Any:
        from kubernetes import client

        return client.DiscoveryV1Api(self.api_client)

    @cached_property
    def scheduling(self) -> Any:
        from kubernetes import client

        return client.SchedulingV1Api(self.api_client)

    @cached_property
    def dynamic(self) -> Any:
        from kubernetes import dynamic

        return dynamic.DynamicClient(self.api_client)  # type: ignore[no-untyped-call]  # untyped in kubernetes 37

    def labels(self) -> dict[str, str]:
        return {INSTANCE_LABEL: self.instance}

    def apply(self, documents: Iterable[dict[str, Any]]) -> None:
        """Server-side apply, one field manager: fields a later apply leaves out are removed.

        The object also records what was applied the way `kubectl apply` does, so the learner's
        own `kubectl apply -f` of an edited file can remove fields too (a dropped nodeSelector).
        """
        for document in documents:
            body = json.loads(json.dumps(document))  # a private copy we may label
            metadata = body.setdefault("metadata", {})
            metadata.setdefault("labels", {}).update(self.labels())
            resource = self.dynamic.resources.get(api_version=body["apiVersion"], kind=body["kind"])
            namespace = self.namespace if resource.namespaced else None
            if namespace:
                metadata["namespace"] = namespace
            metadata.setdefault("annotations", {})[LAST_APPLIED] = json.dumps(body, sort_keys=True, separators=(",", ":"))
            resource.server_side_apply(body=body, name=metadata["name"], namespace=namespace,
                                       field_manager=FIELD_MANAGER, force_conflicts=True)

    def create_namespace(self) -> None:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        body = client.V1Namespace(metadata=client.V1ObjectMeta(name=self.namespace, labels=self.labels()))
        try:
            self.core.create_namespace(body)
        except ApiException as exc:
            if exc.status != 409:
                raise BreakfixError(f"cannot create namespace {self.namespace}: {exc.reason}") from None

    def uncordon_workers(self) -> None:
        """A drain interrupted by a hard kill leaves a worker cordoned: every scenario starts from schedulable workers."""
        for node in self.core.list_node(label_selector=POOL_LABEL).items:
            if node.spec.unschedulable:
                self.core.patch_node(node.metadata.name, {"spec": {"unschedulable": False}})

    def service_node_ports(self) -> list[int]:
        """The NodePorts of the namespace's Services."""
        return sorted(port.node_port for service in self.core.list_namespaced_service(self.namespace).items
                      for port in service.spec.ports or [] if port.node_port)

    def pods(self, selector: str = "") -> list[Any]:
        return list(self.core.list_namespaced_pod(self.namespace, label_selector=selector).items)

    def events(self) -> list[Any]:
        return list(self.core.list_namespaced_event(self.namespace).items)

    def wait_ready(self, timeout: float, progress: Progress = lambda _: None) -> None:
        """Every Deployment rolled out and available, every StatefulSet's members ready; bounded, naming what is not."""
        waiting: list[str] = []
        shown: list[str] = []

        def all_rolled_out() -> bool:
            nonlocal waiting
            waiting = [f"deployment {d.metadata.name}" for d in self.apps.list_namespaced_deployment(self.namespace).items if not rolled_out(d)]
            waiting += [f"statefulset {s.metadata.name}" for s in self.apps.list_namespaced_stateful_set(self.namespace).items if not statefulset_ready(s)]
            return not waiting

        def show() -> None:
            if waiting != shown:  # a line when what is awaited changes, not one per poll
                shown[:] = waiting
                progress(f"waiting for {', '.join(waiting)}")

        # polled often: a rollout of a few seconds was rounded up to the next 2 s poll (provision took 4.1 s
        # where `kubectl apply` + `rollout status`, which watches, took 1.7 s)
        def why() -> str:
            try:
                troubles = pod_troubles(self.pods())
            except Exception:  # the reason is a courtesy: an API hiccup now must not replace "not ready" with a traceback
                troubles = []
            said = f": {'; '.join(troubles[:4])}" if troubles else ""
            return f"not ready after {timeout:.0f}s: {', '.join(waiting)}{said} (see `kubectl -n {self.namespace} get pods,events`)"

        wait_until(all_rolled_out, timeout, every=0.25, on_wait=show, error=why)

    def still_changing(self, route_lag: RouteLag | None = None) -> str | None:
        """Rollouts not finished and pods still terminating in the namespace, then Services whose
        EndpointSlices have not caught up with their pods, then -- given `route_lag`, where this host's
        kube-proxy may route the cluster -- its rules not caught up with the slices: settle's Kubernetes condition.

        One listing of each kind per call: settle polls it every quarter of a second."""
        listings = (("deployment", self.apps.list_namespaced_deployment), ("statefulset", self.apps.list_namespaced_stateful_set),
                    ("daemonset", self.apps.list_namespaced_daemon_set))
        busy = [detail for kind, listing in listings for workload in listing(self.namespace).items if (detail := rollout_in_progress(kind, workload))]
        pods = self.pods()
        leaving = terminating(pods)
        if leaving:
            busy.append(f"pod(s) {', '.join(leaving)} terminating")
        if busy:  # the Services' endpoints follow the pods: only a settled set of pods can be caught up with
            return "; ".join(busy)
        services = self.core.list_namespaced_service(self.namespace).items
        slices = self.discovery.list_namespaced_endpoint_slice(self.namespace).items
        busy = unpublished(services, pods, slices)
        if busy or route_lag is None:
            return "; ".join(busy) or None
        return route_lag(self.namespace, proxied_endpoints(services, slices), self._api_server_endpoints())

    def _api_server_endpoints(self) -> set[str]:
        """Where kube-proxy is to send the API server's Service, `default/kubernetes`."""
        service = self.core.read_namespaced_service(API_SERVICE, "default")
        slices = self.discovery.list_namespaced_endpoint_slice("default", label_selector=f"{SERVICE_NAME_LABEL}={API_SERVICE}").items
        return proxied_endpoints([service], slices).get(API_SERVICE_PORT, set())

    def cluster_scoped_leftovers(self) -> list[str]:
        selector = f"{INSTANCE_LABEL}={self.instance}"
        return [f"priorityclass {p.metadata.name}" for p in self.scheduling.list_priority_class(label_selector=selector).items]

    def delete_cluster_scoped(self) -> None:
        """PriorityClasses survive a namespace: delete this instance's, and only those.

        Ours are the ones the apply labelled with the instance, and the ones named with the
        instance's namespace as prefix (a learner's own `kubectl apply` carries no label). A class
        merely named in the workspace may belong to another instance: a manifest can point anywhere.
        """
        from kubernetes.client.exceptions import ApiException

        for priority_class in self.scheduling.list_priority_class().items:
            name = priority_class.metadata.name
            owner = (priority_class.metadata.labels or {}).get(INSTANCE_LABEL)
            if owner == self.instance or (owner is None and name.startswith(f"{self.namespace}-")):
                try:
                    self.scheduling.delete_priority_class(name)
                except ApiException as exc:
                    if exc.status != 404:
                        raise

    def delete_namespace(self, timeout: float = 120) -> None:
        """Delete and wait until the API no longer knows the namespace: teardown proves it is gone."""
        from kubernetes.client.exceptions import ApiException

        try:
            self.core.delete_namespace(self.namespace, propagation_policy="Foreground")
        except ApiException as exc:
            if exc.status != 404:
                raise BreakfixError(f"cannot delete namespace {self.namespace}: {exc.reason}") from None
        wait_until(lambda: not self.namespace_exists(), timeout, every=1, error=(
            f"namespace {self.namespace} still terminating after {timeout:.0f}s (see `kubectl get namespace {self.namespace} -o yaml`)"
        ))

    def namespace_exists(self) -> bool:
        from kubernetes.client.exceptions import ApiException

        try:
            self.core.read_namespace(self.namespace)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True
