"""What the cache-rollout checks share: the cache members, the storefront, and one release under load."""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import dataclass, field

import pytest

from harness.checks import pod_ready, wait_for

SELECTOR = "app=cache"
MEMBERS = ["cache-0", "cache-1", "cache-2"]  # the storefront's ring (CACHE_MEMBERS)
PRODUCTS = 1200  # the hot products the storefront serves and the members warm (HOT_PRODUCTS)
WINDOW = 150  # consecutive requests a hit rate is judged over: about 4 s of the probe
FLOOR = 0.80
SETTLE_SECONDS = 180  # a learner's apply may still be rolling out (each member warms for 15-40 s)
START_SECONDS = 30  # a release that has replaced no member by then is not rolling out at all
RELEASE_SECONDS = 240  # 3 members x (restart + warm-up: 15-40 s on a busy 2-core machine), with room
AFTER_SECONDS = 15.0  # a release is over for the clients once the last member is warm, not when the controller says so
RELEASE_ANNOTATION = "breakfix.dev/release"


def product_record(product: int) -> dict:
    """What the catalog database holds for a product (the storefront must return exactly this)."""
    digest = hashlib.sha256(f"product-{product}".encode()).hexdigest()
    return {"product": product, "sku": f"SKU-{digest[:8].upper()}", "price_cents": 100 + int(digest[8:14], 16) % 99900}


class Cache:
    """The checks' view of the cache and the storefront (helpers reach tests as a fixture, not an import)."""

    ring, floor, window, release_seconds = MEMBERS, FLOOR, WINDOW, RELEASE_SECONDS

    def __init__(self, kube, instance, http_load) -> None:
        self.kube, self.instance, self.http_load = kube, instance, http_load
        self._settled: bool | None = None

    def probe(self, seed: int, seconds: float, reference: float | None = None) -> list[Sample]:
        """A bounded client probe through the storefront: ~40 requests/s from 4 clients for `seconds`."""
        load = self.http_load(self.instance.entrypoint_url, product_paths(seed), total=4000, concurrency=4, timeout=5.0,
                              deadline=seconds, idle_every=1, idle_seconds=0.1)
        ready = tuple(self.ready())
        at = time.monotonic() - (reference if reference is not None else time.monotonic())
        return [judge(response, at, ready) for response in load.responses]

    def statefulset(self):
        return self.kube.apps.read_namespaced_stateful_set("cache", self.kube.namespace)

    def members(self) -> list:
        return [pod for pod in self.kube.pods(SELECTOR) if pod.metadata.deletion_timestamp is None]

    def ready(self) -> list[str]:
        return sorted(pod.metadata.name for pod in self.members() if pod_ready(pod))

    def rolled_out(self) -> bool:
        """`kubectl rollout status statefulset` semantics: every replica updated, Ready, and the revision current."""
        sts = self.statefulset()
        status, wanted = sts.status, sts.spec.replicas if sts.spec.replicas is not None else 1
        return (
            (status.observed_generation or 0) >= (sts.metadata.generation or 0)
            and (status.ready_replicas or 0) >= wanted
            and (status.updated_replicas or 0) >= wanted
            and status.current_revision == status.update_revision
        )

    def settled(self) -> bool:
        sts = self.statefulset()
        wanted = sts.spec.replicas if sts.spec.replicas is not None else 1
        return (sts.status.observed_generation or 0) >= (sts.metadata.generation or 0) and len(self.ready()) >= wanted

    def wait_settled(self) -> bool:
        """Bounded, once per run: members warm for 15 s or more after a start or an apply before they are Ready."""
        if self._settled is None:
            self._settled = wait_for(self.settled, SETTLE_SECONDS)
        return self._settled


@pytest.fixture(scope="session")
def cache(kube, instance, http_load) -> Cache:
    return Cache(kube, instance, http_load)


def product_paths(seed: int) -> list[str]:
    """Every hot product once, in a shuffled order: each window of the probe samples the whole ring."""
    products = list(range(PRODUCTS))
    random.Random(seed).shuffle(products)
    return [f"/products/{n}" for n in products]


@dataclass
class Sample:
    """One response of the probe, with when it came (seconds since the release began) and the members Ready then."""

    seconds: float
    status: int
    outcome: str  # X-Cache: hit | miss | bypass, "" without one
    right: bool  # the body is the catalog's record of the product asked for
    error: str
    ready: tuple[str, ...]


@dataclass
class Release:
    """What a client saw while a new version of the cache rolled out."""

    precondition: str = ""
    samples: list[Sample] = field(default_factory=list)
    before: dict[str, str] = field(default_factory=dict)  # member -> pod uid when the release began
    revision: str = ""  # the StatefulSet's update revision of the release
    finished: bool = False
    seconds: float = 0.0


def judge(response, seconds: float, ready: tuple[str, ...]) -> Sample:
    right = False
    if response.status == 200:
        try:
            right = json.loads(response.body) == product_record(int(response.path.rsplit("/", 1)[1]))
        except (ValueError, TypeError):
            right = False
    return Sample(seconds, response.status, response.headers.get("x-cache", ""), right, response.error, ready)


@pytest.fixture(scope="session")
def release(kube, cache) -> Release:
    """Roll a new version of the cache out while a client probe runs through the storefront, until every member runs it."""
    run = Release()
    if not cache.wait_settled():
        run.precondition = f"the cache is not Ready even before the release: Ready members {', '.join(cache.ready()) or 'none'}"
        return run
    run.before = {pod.metadata.name: pod.metadata.uid for pod in cache.members()}
    steady = cache.probe(0, 3.0)  # the steady state before the release
    kube.apps.patch_namespaced_stateful_set("cache", kube.namespace, {"spec": {"template": {"metadata": {
        "annotations": {RELEASE_ANNOTATION: str(time.time())}}}}})
    released = time.monotonic()
    run.samples = [Sample(s.seconds - 3.0, s.status, s.outcome, s.right, s.error, s.ready) for s in steady]
    run.revision = cache.statefulset().status.update_revision or ""
    chunk = 1
    while True:
        run.samples += cache.probe(chunk, 2.0, released)
        chunk += 1
        elapsed = time.monotonic() - released
        sts = cache.statefulset()
        run.revision = sts.status.update_revision or run.revision
        if elapsed > 3 and cache.rolled_out():
            run.finished = True
            break
        replaced = [pod for pod in cache.members() if run.before.get(pod.metadata.name) != pod.metadata.uid]
        if elapsed > RELEASE_SECONDS or (elapsed > START_SECONDS and not replaced):
            break
    run.samples += cache.probe(chunk, AFTER_SECONDS, released)  # and the state the release leaves
    run.seconds = time.monotonic() - released
    return run
