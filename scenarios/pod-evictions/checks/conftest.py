"""What the pod-evictions checks share: the workloads' selectors and one bounded report run."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pytest

from harness.checks import Eviction, evicted_pods, evictions, pod_ready, rolled_out, wait_for

API, BATCH, CACHE = "app=orders-api", "app=report-builder", "app=price-cache"
SETTLE_SECONDS = 90  # a learner's `kubectl apply` may still be rolling out when the check starts
RUN_SECONDS = 60  # batch pods ramp to their working set in ~20 s; the kubelet acts within ~10 s of crossing


def ready(kube, selector: str) -> list:
    return [pod for pod in kube.pods(selector) if pod_ready(pod)]


def current(kube, selector: str) -> list:
    """Pods that are, or are about to be, running: not Evicted/Completed leftovers, not terminating."""
    return [pod for pod in kube.pods(selector) if pod.status.phase in ("Pending", "Running") and pod.metadata.deletion_timestamp is None]


def describe(pods) -> str:
    rows = []
    for pod in pods:
        reason = pod.status.reason or pod.status.phase
        rows.append(f"{pod.metadata.name} ({reason}{', not ready' if not pod_ready(pod) else ''})")
    return ", ".join(rows) or "none"


def under_pressure(kube) -> bool:
    """A run starts from a calm node, so what it sees is caused by the run itself."""
    nodes = kube.core.list_node(label_selector="breakfix.dev/pool=general").items
    return any(c.type == "MemoryPressure" and c.status == "True" for node in nodes for c in node.status.conditions or [])


class Workloads:
    """The checks' view of the three workloads (conftest helpers reach tests as a fixture, not an import)."""

    api, batch, cache = API, BATCH, CACHE

    def __init__(self, kube) -> None:
        self.kube = kube

    def ready(self, selector: str) -> list:
        return ready(self.kube, selector)

    def current(self, selector: str) -> list:
        return current(self.kube, selector)

    def describe(self, selector: str) -> str:
        return describe(self.kube.pods(selector))

    def wait_ready(self, selector: str, count: int, seconds: float) -> bool:
        return wait_for(lambda: len(self.ready(selector)) >= count, seconds)


@pytest.fixture(scope="session")
def workloads(kube) -> Workloads:
    return Workloads(kube)


@dataclass
class ReportRun:
    """What happened to the API while the report builders rebuilt their buffers."""

    api_before: set[str] = field(default_factory=set)
    api_lost: list[str] = field(default_factory=list)  # pods that were evicted, deleted or went unready
    served: set[str] = field(default_factory=set)  # names of the API pods seen Ready during the run
    evictions: list[Eviction] = field(default_factory=list)  # of pods that served: see report_run
    batch_started: bool = False
    precondition: str = ""


@pytest.fixture(scope="session")
def report_run(kube) -> ReportRun:
    """Restart the report builders (a new nightly run) and watch the API pods for RUN_SECONDS, bounded."""
    run = ReportRun()

    def api_rolled_out() -> bool:
        deployment = kube.apps.read_namespaced_deployment("orders-api", kube.namespace)
        return rolled_out(deployment) and len(ready(kube, API)) >= max(deployment.spec.replicas or 0, 1)

    # a fix applied while the node is still under pressure rolls out meanwhile: the run watches the pods of the
    # current template, not the old ReplicaSet's that the kubelet is still evicting or refusing
    if not wait_for(api_rolled_out, SETTLE_SECONDS):
        run.precondition = f"orders-api is not rolled out and fully Ready even before the run: {describe(kube.pods(API))}"
        return run
    if not wait_for(lambda: not under_pressure(kube), SETTLE_SECONDS):
        run.precondition = "the general node is still under memory pressure before the run: what is using its memory?"
        return run
    serving = ready(kube, API)
    run.api_before = {pod.metadata.uid for pod in serving}
    run.served = {pod.metadata.name for pod in serving}
    started = time.time()
    kube.core.delete_collection_namespaced_pod(kube.namespace, label_selector=BATCH, grace_period_seconds=0)
    deadline = time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline:
        pods = kube.pods(API)
        run.batch_started = run.batch_started or any(p.status.phase == "Running" for p in kube.pods(BATCH) if p.metadata.deletion_timestamp is None)
        alive = {pod.metadata.uid for pod in pods if pod_ready(pod)}
        run.served |= {pod.metadata.name for pod in pods if pod_ready(pod)}
        lost = [pod.metadata.name for pod in pods if pod.metadata.uid in run.api_before and not pod_ready(pod)]
        lost += [f"{len(run.api_before - {p.metadata.uid for p in pods})} pod(s) gone"] if run.api_before - {p.metadata.uid for p in pods} else []
        if lost or not run.api_before <= alive:
            run.api_lost = lost or ["a pod went unready"]
            break
        time.sleep(2)
    # Only pods that served count: while the node reports MemoryPressure the kubelet also refuses
    # (reason Evicted, "The node had condition: [MemoryPressure]") every BestEffort replacement the
    # ReplicaSet creates -- a broken state leaves ~180 of those against a handful of real evictions.
    run.evictions = [e for e in evictions(kube.events()) if e.pod in run.served and (e.at is None or e.at.timestamp() >= started - 1)]
    # only the pods that were serving when the run began: Evicted pods of an earlier night stay listed until garbage-collected
    ours = [pod for pod in kube.pods(API) if pod.metadata.uid in run.api_before]
    run.api_lost += [name for name in evicted_pods(ours) if name not in run.api_lost]
    return run
