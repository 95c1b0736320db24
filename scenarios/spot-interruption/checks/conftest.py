"""What the spot-interruption checks share: the checkout pods, its PDB, and one bounded spot drain."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import pytest

from harness.checks import DrainResult, drain_node, pod_answers, pod_ready, rolled_out, set_unschedulable, wait_for

SELECTOR = "app=checkout"
NOTICE_SECONDS = 120  # a spot interruption notice: the node is gone after this, drained or not
SETTLE_SECONDS = 90
SERVING_PATH = "/orders/1"  # what the clients call: an evicted pod is timed on it, past the Service


class Checkout:
    """The checks' view of the checkout service (helpers reach tests as a fixture, not an import)."""

    def __init__(self, kube) -> None:
        self.kube = kube

    def ready_pods(self) -> list:
        return [pod for pod in self.kube.pods(SELECTOR) if pod_ready(pod)]

    def deployment(self):
        return self.kube.apps.read_namespaced_deployment("checkout", self.kube.namespace)

    def budgets(self) -> list:
        """PodDisruptionBudgets whose selector picks the checkout pods."""
        labels = {"app": "checkout"}
        found = []
        for pdb in self.kube.policy.list_namespaced_pod_disruption_budget(self.kube.namespace).items:
            wanted = (pdb.spec.selector and pdb.spec.selector.match_labels) or {}
            if wanted and all(labels.get(key) == value for key, value in wanted.items()):
                found.append(pdb)
        return found

    def spot_nodes(self) -> list[str]:
        nodes = self.kube.core.list_node(label_selector="breakfix.dev/pool=spot").items
        assert nodes, "the cluster has no node labelled breakfix.dev/pool=spot: recreate it (`kind delete cluster --name breakfix`)"
        return sorted(node.metadata.name for node in nodes)

    def spot_node(self) -> str:
        return self.spot_nodes()[0]


@pytest.fixture(scope="session")
def checkout(kube) -> Checkout:
    return Checkout(kube)


@dataclass
class SpotDrain:
    drain: DrainResult | None = None
    load: object = None
    notice_at: float = 0.0  # time.monotonic() when the interruption notice arrived
    min_ready: int = 99  # the fewest ready checkout pods seen during the drain
    precondition: str = ""
    unmeasurable: str = ""  # why an evicted pod's serving time could not be measured (not a property of the fix)
    samples: list[int] = field(default_factory=list)


@pytest.fixture(scope="session")
def spot_drain(instance, kube, checkout, http_load) -> SpotDrain:
    """Drain the spot node with 2 minutes' notice while a client probe runs through the Service; then put it back."""
    run = SpotDrain()
    replicas = checkout.deployment().spec.replicas or 0

    def settled() -> bool:
        # the drain starts from a finished rollout: a pod of an older template still terminating (a fix applied a
        # moment ago, without preStop) would fail requests that have nothing to do with the drain
        pods = checkout.kube.pods(SELECTOR)
        leaving = [pod for pod in pods if pod.metadata.deletion_timestamp is not None and pod.status.phase in ("Pending", "Running")]
        return rolled_out(checkout.deployment()) and not leaving and len(checkout.ready_pods()) >= max(replicas, 1)

    if not wait_for(settled, SETTLE_SECONDS):
        run.precondition = f"checkout's rollout has not finished with its {replicas} pod(s) Ready before the drain"
        return run
    node = checkout.spot_node()
    # whether the proxy reaches the pods at all is the measurement's precondition, not the fix's property:
    # a few tries, so one slow answer of a healthy pod does not make the timing unmeasurable
    silent = [pod.metadata.name for pod in checkout.ready_pods()
              if not wait_for(lambda pod=pod: pod_answers(kube, pod, SERVING_PATH), 3, interval=0.5)]
    if silent:
        run.unmeasurable = f"the Ready pod(s) {', '.join(silent)} do not answer {SERVING_PATH} through the API server's pod proxy"
    outcome: dict = {}
    # ~40 requests/s from 4 clients for up to 60 s: enough to see any gap, bounded in count and time
    probe = threading.Thread(target=lambda: outcome.update(load=http_load(
        instance.entrypoint_url, [f"/orders/{n}" for n in range(100)], total=2400, concurrency=4,
        timeout=3.0, deadline=60.0, idle_every=1, idle_seconds=0.1, max_failures=50)), daemon=True)
    watching = threading.Event()

    def watch() -> None:
        while not watching.is_set():
            run.samples.append(len(checkout.ready_pods()))
            watching.wait(0.5)

    watcher = threading.Thread(target=watch, daemon=True)
    probe.start()
    watcher.start()
    try:
        time.sleep(3)  # the probe is warm before the notice arrives
        run.notice_at = time.monotonic()
        run.drain = drain_node(kube, node, notice=NOTICE_SECONDS, serving_path=SERVING_PATH)
        probe.join(70)
    finally:
        watching.set()
        watcher.join(5)
        # the interrupted capacity comes back (a replacement spot node), and the service rebalances onto it
        set_unschedulable(kube, node, False)
        kube.apps.patch_namespaced_deployment("checkout", kube.namespace, {"spec": {"template": {"metadata": {
            "annotations": {"breakfix.dev/rebalanced-at": str(time.time())}}}}})
        wait_for(lambda: rolled_out(checkout.deployment()), SETTLE_SECONDS)
    run.load = outcome.get("load")
    run.min_ready = min(run.samples) if run.samples else 0
    return run
