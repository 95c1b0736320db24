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
