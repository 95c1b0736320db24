"""Kubernetes objects as the harness reads them: QoS, readiness, rollouts, evictions.

Pure functions of API objects (or pod specs), unit-tested without a cluster; checks use them
through `harness.checks`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from harness.timing import wait_until


def parse_quantity(value: str | float) -> float:
    from kubernetes.utils import parse_quantity as parse

    return float(parse(value))  # type: ignore[no-untyped-call]  # kubernetes 37 leaves parse_quantity untyped


def qos_class(pod_spec: dict[str, Any]) -> str:
    """The QoS class Kubernetes gives a pod spec (same rules as the API server's, for cpu and memory)."""
    containers = pod_spec.get("containers") or []
    requests_any = False
    guaranteed = bool(containers)
    for container in containers:
        resources = container.get("resources") or {}
        requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
        for resource in ("cpu", "memory"):
            limit = limits.get(resource)
            request = requests.get(resource, limit)  # a limit alone defaults the request to it
            if request is not None or limit is not None:
                requests_any = True
            if limit is None or request is None or parse_quantity(request) != parse_quantity(limit):
                guaranteed = False
    if guaranteed:
        return "Guaranteed"
    return "Burstable" if requests_any else "BestEffort"


def pod_ready(pod: Any) -> bool:
    """A V1Pod that is Running and whose Ready condition is True (deleting pods are not ready)."""
    if pod.metadata.deletion_timestamp is not None or pod.status is None or pod.status.phase != "Running":
        return False
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def rolled_out(deployment: Any) -> bool:
    """`kubectl rollout status` semantics: the latest generation observed, all replicas updated and available."""
    spec, status = deployment.spec, deployment.status
    wanted = spec.replicas if spec.replicas is not None else 1
    return (
        (status.observed_generation or 0) >= (deployment.metadata.generation or 0)
        and (status.updated_replicas or 0) >= wanted
        and (status.available_replicas or 0) >= wanted
        and (status.replicas or 0) == (status.updated_replicas or 0)
    )


def rollout_in_progress(kind: str, workload: Any) -> str | None:
    """What a Deployment, StatefulSet or DaemonSet is still changing, or None once it has stopped.

    Finished is not healthy: a rollout stuck on pods that never get ready has stopped changing
    (ProgressDeadlineExceeded) and the checks judge it; a StatefulSet held at its partition on purpose
    is finished too."""
    spec, status, name = workload.spec, workload.status, workload.metadata.name
    if (status.observed_generation or 0) < (workload.metadata.generation or 0):
        return f"{kind} {name}: new spec not observed yet"
    if kind == "deployment":
        stuck = any(c.type == "Progressing" and c.reason == "ProgressDeadlineExceeded" for c in status.conditions or [])
        old = (status.replicas or 0) - (status.updated_replicas or 0)
        return f"deployment {name}: {old} pod(s) of the old revision still being replaced" if old > 0 and not stuck else None
    if kind == "statefulset":
        wanted = spec.replicas if spec.replicas is not None else 1
        partition = (spec.update_strategy.rolling_update.partition or 0) if spec.update_strategy and spec.update_strategy.rolling_update else 0
        target = max(wanted - partition, 0)
        if status.current_revision != status.update_revision and (status.updated_replicas or 0) < target:
            return f"statefulset {name}: {status.updated_replicas or 0} of {target} member(s) on the new revision"
        return None
    scheduled, desired = status.updated_number_scheduled or 0, status.desired_number_scheduled or 0
    return f"daemonset {name}: {scheduled} of {desired} node(s) on the new revision" if scheduled < desired else None


def statefulset_ready(statefulset: Any) -> bool:
    """Every member ready and the rollout finished (`kubectl rollout status statefulset` semantics)."""
    wanted = statefulset.spec.replicas if statefulset.spec.replicas is not None else 1
    return (statefulset.status.ready_replicas or 0) >= wanted and rollout_in_progress("statefulset", statefulset) is None


def terminating(pods: Iterable[Any]) -> list[str]:
    """Pods being deleted (a drain, a rollout, a preStop hook running): the system is still changing."""
    return [pod.metadata.name for pod in pods if pod.metadata.deletion_timestamp is not None]


SERVICE_NAME_LABEL = "kubernetes.io/service-name"  # what ties an EndpointSlice to its Service


def proxied(service: Any) -> bool:
    """A Service kube-proxy writes rules for: not headless, not ExternalName."""
    return service.spec.type != "ExternalName" and service.spec.cluster_ip not in (None, "", "None")


def _host_port(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def proxied_endpoints(services: Iterable[Any], slices: Iterable[Any]) -> dict[str, set[str]]:
    """Where kube-proxy sends each port of each Service, by kube-proxy's own rule: the ready endpoints of its
    EndpointSlices (an unset condition counts as true), else, while none is ready, the serving ones that
    are terminating. Keyed as kube-proxy names a Service port in its rules: "ns/svc:port", "ns/svc" unnamed."""
    by_service: dict[tuple[str, str], list[Any]] = {}
    for endpoint_slice in slices:
        name = (endpoint_slice.metadata.labels or {}).get(SERVICE_NAME_LABEL)
        if name:
            by_service.setdefault((endpoint_slice.metadata.namespace, name), []).append(endpoint_slice)
    found: dict[str, set[str]] = {}
    for service in filter(proxied, services):
        namespace, name = service.metadata.namespace, service.metadata.name
        for service_port in service.spec.ports or []:
            ready: set[str] = set()
            draining: set[str] = set()
            for endpoint_slice in by_service.get((namespace, name), []):
                for port in endpoint_slice.ports or []:
                    if (port.name or "") != (service_port.name or "") or port.port is None:
                        continue
                    for endpoint in endpoint_slice.endpoints or []:
                        conditions = endpoint.conditions
                        is_ready = conditions is None or conditions.ready is not False
                        serving = conditions is None or conditions.serving is not False
                        leaving = conditions is not None and conditions.terminating is True
                        into = ready if is_ready else draining if serving and leaving else None
                        if into is not None:
                            into.update(_host_port(address, port.port) for address in endpoint.addresses)
            found[f"{namespace}/{name}" + (f":{service_port.name}" if service_port.name else "")] = ready or draining
    return found


def _selected(pod: Any, service: Any) -> bool:
    """The pods the EndpointSlice controller publishes for a Service: selected, with an IP, not ended (an
    evicted pod keeps its IP), and declaring at least one of its target ports (a numeric one always
    resolves; a named one must be a container port's)."""
    labels = pod.metadata.labels or {}
    if pod.status is None or not pod.status.pod_ip or pod.status.phase in ("Succeeded", "Failed") or not all(labels.get(k) == v for k, v in service.spec.selector.items()):
        return False
    named = {port.name for container in pod.spec.containers for port in container.ports or [] if port.name}
    return any(isinstance(p.target_port, int) or p.target_port is None or p.target_port in named for p in service.spec.ports or [])


def unpublished(services: Iterable[Any], pods: Iterable[Any], slices: Iterable[Any]) -> list[str]:
    """The Services whose EndpointSlices do not yet list exactly their ready pods as ready: the
    EndpointSlice controller has not caught up with a pod that became ready, stopped being so or went."""
    pods = list(pods)
    slices = list(slices)
    behind = []
    for service in services:
        if not service.spec.selector or service.spec.type == "ExternalName":
            continue  # endpoints a selector does not manage are whatever their author wrote
        every = service.spec.publish_not_ready_addresses is True
        want = {pod.status.pod_ip for pod in pods if _selected(pod, service) and (every or pod_ready(pod))}
        listed = {address for endpoint_slice in slices
                  if (endpoint_slice.metadata.labels or {}).get(SERVICE_NAME_LABEL) == service.metadata.name
                  for endpoint in endpoint_slice.endpoints or []
                  if endpoint.conditions is None or endpoint.conditions.ready is not False
                  for address in endpoint.addresses}
        if want != listed:
            behind.append(f"service {service.metadata.name}: endpoints {sorted(listed) or 'none'}, ready pods {sorted(want) or 'none'}")
    return behind


QUIET_WAITING = frozenset({"ContainerCreating", "PodInitializing"})  # on the way up, not stuck


def pod_troubles(pods: Iterable[Any]) -> list[str]:
    """Why pods are not running, as `kubectl describe` leads with it: the scheduler's message for a pod
    nowhere to go, a container's waiting reason (ErrImageNeverPull, CrashLoopBackOff, ...)."""
    found = []
    for pod in pods:
        if pod.metadata.deletion_timestamp is not None or pod.status is None:
            continue
        name = pod.metadata.name
        found += [f"{name}: {c.reason or 'not scheduled'} ({c.message})" for c in pod.status.conditions or []
                  if c.type == "PodScheduled" and c.status == "False"]
        for container in (pod.status.init_container_statuses or []) + (pod.status.container_statuses or []):
            waiting = container.state.waiting if container.state else None
            if waiting is not None and waiting.reason not in QUIET_WAITING:
                found.append(f"{name}: {waiting.reason}" + (f" ({waiting.message})" if waiting.message else ""))
    return found


def wait_for(predicate: Callable[[], Any], seconds: float, interval: float = 2.0) -> bool:
    """Poll until `predicate()` is truthy; False once `seconds` have passed (checks phrase their own failure)."""
    return bool(wait_until(predicate, seconds, every=interval))


@dataclass(frozen=True)
class Eviction:
    pod: str
    resource: str  # "memory", "ephemeral-storage", ... or "" when the message names none
    message: str
    at: Any  # datetime or None


EVICTION_RESOURCE = re.compile(r"low on resource: ([\w-]+(?:\.[\w-]+)*)")


def evictions(events: Iterable[Any]) -> list[Eviction]:
    """Kubelet evictions among core/v1 events (reason Evicted on a Pod), oldest first."""
    found = []
    for event in events:
        involved = event.involved_object
        if event.reason != "Evicted" or involved is None or involved.kind != "Pod":
            continue
        match = EVICTION_RESOURCE.search(event.message or "")
        at = event.last_timestamp or event.event_time or event.first_timestamp
        found.append(Eviction(involved.name, match.group(1) if match else "", event.message or "", at))
    return sorted(found, key=lambda e: (e.at is None, e.at))


def evicted_pods(pods: Iterable[Any]) -> list[str]:
    """Names of pods left in phase Failed with reason Evicted: what `kubectl get pods` shows as Evicted."""
    return [p.metadata.name for p in pods if p.status is not None and p.status.phase == "Failed" and p.status.reason == "Evicted"]
