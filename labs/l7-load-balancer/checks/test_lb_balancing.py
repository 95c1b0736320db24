"""Round-robin, faithful proxying, concurrency, and health checks that remove and re-admit.

The tests run in this order and share one cluster: the later ones crash and recover backends."""

import json
import threading
import time
from collections import Counter

BACKENDS = ("app-1", "app-2", "app-3")


def _all_ok(replies, what):
    failed = [reply for reply in replies if reply.status != 200]
    assert not failed, f"{what}: {len(failed)} of {len(replies)} requests failed; first: {failed[0].describe()}"


def test_round_robin_in_strict_rotation(cluster):
    """30 requests: every backend gets exactly 10, in strict rotation"""
    replies = cluster.sequence(30)
    _all_ok(replies, "3 healthy backends")
    order = [reply.backend for reply in replies]
    assert all(order.count(name) == 10 for name in BACKENDS), f"30 requests over 3 backends: expected 10 each, got {cluster.share(replies)}"
    for start in range(28):
        window = order[start:start + 3]
        assert len(set(window)) == 3, f"not a rotation: requests {start + 1}-{start + 3} went to {window} (sequence starts {order[:9]})"


def test_forwards_requests_faithfully(cluster):
    """Method, path, query, headers and body reach the backend; its status, headers and body come back"""
    reply = cluster.request("POST", "/v1/orders/42?expand=items&currency=eur", b'{"amount": 1250}',
                            {"Content-Type": "application/json", "X-Request-Id": "req-7f3a"})
    assert reply.status == 200 and reply.backend, f"POST /v1/orders/42 through the LB: expected the backend's 200, got {reply.describe()}"
    seen = json.loads(reply.body)
    expected = {"method": "POST", "path": "/v1/orders/42", "query": "expand=items&currency=eur", "body": '{"amount": 1250}'}
    wrong = {key: seen.get(key) for key, value in expected.items() if seen.get(key) != value}
    assert not wrong, f"the backend received {wrong}, expected {expected}"
    assert seen["headers"].get("x-request-id") == "req-7f3a", f"header X-Request-Id did not reach the backend (it saw {sorted(seen['headers'])})"
    for code in (404, 503):
        reply = cluster.request("GET", f"/status/{code}")
        assert reply.status == code and reply.backend, f"a backend answering {code} must be relayed as {code}, got {reply.describe()}"


def test_survives_malformed_requests(cluster):
    """A malformed request (a bad Content-Length) gets a 4xx, not a crash or a hang, and the LB keeps serving"""
    cluster.require_proxying()
    for garbage in (b"POST / HTTP/1.1\r\nHost: lb\r\nContent-Length: nope\r\n\r\n", b"POST / HTTP/1.1\r\nHost: lb\r\nContent-Length: -5\r\n\r\n"):
        status_line = cluster.raw(garbage)
        code = status_line.split()[1] if status_line.startswith("HTTP/1.") and len(status_line.split()) > 1 else ""
        assert code.startswith("4") or code == "505", (
            f"sent {garbage[:40]!r}: expected an HTTP 4xx status line, got {status_line[:80]!r}"
        )
    reply = cluster.request()
    assert reply.status == 200, f"after malformed requests, a normal GET got {reply.describe()}"


def test_serves_requests_concurrently(cluster):
    """A slow request does not hold up others: 9 quick requests finish while a 2 s one is in flight"""
    cluster.require_proxying()
    slow = []
    thread = threading.Thread(target=lambda: slow.append(cluster.request(path="/slow/2")), daemon=True)
    thread.start()
    time.sleep(0.2)
    quick = cluster.load(9, clients=3)
    thread.join(timeout=10)
    _all_ok(quick, "quick requests during a slow one")
    worst = max(reply.seconds for reply in quick)
    assert worst < 1.5, f"with a 2 s request in flight, quick requests took up to {worst:.1f} s: serve requests concurrently"
    assert slow and slow[0].status == 200, f"the slow request: {slow[0].describe() if slow else 'no answer'}"


def test_concurrent_load_is_spread_evenly(cluster):
    """60 requests from 12 concurrent clients: 20 per backend"""
    cluster.require_proxying()
    replies = cluster.load(60, clients=12)
    _all_ok(replies, "60 concurrent requests")
    assert all(Counter(r.backend for r in replies)[name] == 20 for name in BACKENDS), (
        f"60 concurrent requests over 3 backends: expected 20 each, got {cluster.share(replies)}"
    )


def test_active_health_checks(cluster):
    """The LB probes every backend's /healthz on its own, every --health-interval"""
    cluster.require_proxying()
    elapsed = time.monotonic() - cluster.started
    if elapsed < 3.0:
        time.sleep(3.0 - elapsed)
        elapsed = 3.0
    probes = {name: cluster.health_checks(name) - cluster.first_health_checks[name] for name in BACKENDS}
    expected = int(elapsed / 0.5)
    idle = {name: count for name, count in probes.items() if count < expected // 2}
    assert not idle, (
        f"in the {elapsed:.0f} s since the LB started, with --health-interval 0.5, the backends got these "
        f"GET /healthz probes: {probes} (expected about {expected} each)"
    )


def test_removes_a_dead_backend(cluster):
    """A crashed backend is taken out of rotation: no errors after the health interval, the rest share evenly"""
    cluster.require_proxying()
    cluster.crash("app-2")
    cluster.wait_for_detection()
    replies = cluster.sequence(30)
    _all_ok(replies, f"app-2 crashed (connections refused) {cluster.detection:.1f} s earlier")
    counts = Counter(reply.backend for reply in replies)
    assert counts["app-1"] in (14, 15, 16) and counts["app-3"] in (14, 15, 16), (
        f"app-2 is down: 30 requests should alternate between app-1 and app-3, got {cluster.share(replies)}"
    )


def test_readmits_a_recovered_backend(cluster):
    """A backend that recovers is re-admitted after its health checks pass again"""
    cluster.require_proxying()
    cluster.recover("app-2")
    deadline = time.monotonic() + 6
    seen = []
    while time.monotonic() < deadline and "app-2" not in {reply.backend for reply in seen[-3:]}:
        seen.append(cluster.request())
        time.sleep(0.1)
    assert any(reply.backend == "app-2" for reply in seen), (
        f"app-2 has been healthy again for 6 s but got no traffic ({cluster.share(seen)} over {len(seen)} requests)"
    )
    replies = cluster.sequence(30)
    _all_ok(replies, "after app-2 recovered")
    assert all(Counter(r.backend for r in replies)[name] == 10 for name in BACKENDS), (
        f"app-2 re-admitted: 30 requests should give 10 to each backend, got {cluster.share(replies)}"
    )


def test_no_healthy_backend_is_a_quick_503(cluster):
    """With every backend down, the LB answers 503 at once (it does not hang or crash)"""
    cluster.require_proxying()
    for name in BACKENDS:
        cluster.crash(name)
    cluster.wait_for_detection()
    reply = cluster.request()
    assert reply.status == 503 and reply.seconds < 2.0, f"every backend is down: expected a prompt 503, got {reply.describe()}"
