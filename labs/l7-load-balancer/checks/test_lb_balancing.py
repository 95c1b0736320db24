"""Round-robin, faithful proxying, concurrency, and health checks that remove and re-admit.

The tests run in this order and share one cluster: the later ones crash and recover backends."""

import http.client
import json
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

from harness.checks import BreakfixError

BACKENDS = ("app-1", "app-2", "app-3")
REQUEST_TIMEOUT = 10.0


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


# request headers that belong to the client's connection with the LB, never the backend's
CLIENT_HOP = {"Connection": "keep-alive, X-Client-Hop", "Keep-Alive": "timeout=30", "X-Client-Hop": "secret",
              "Proxy-Authorization": "Basic Zm9vOmJhcg==", "Proxy-Connection": "keep-alive", "TE": "trailers"}


def test_hop_by_hop_headers_stay_on_their_hop(cluster):
    """Hop-by-hop headers (and those Connection names) are not forwarded either way; end-to-end ones are, repeated ones kept apart"""
    cluster.require_proxying()
    reply = cluster.request("GET", "/echo", headers={**CLIENT_HOP, "X-Request-Id": "req-hop"})
    assert reply.status == 200 and reply.backend, f"GET /echo with hop-by-hop headers: expected the backend's 200, got {reply.describe()}"
    seen = json.loads(reply.body)["headers"]
    leaked = sorted(f"{name}: {seen[name.lower()]}" for name, value in CLIENT_HOP.items() if name != "Connection" and seen.get(name.lower()) == value)
    if "x-client-hop" in seen.get("connection", "").lower():
        leaked.append(f"connection: {seen['connection']}")
    assert not leaked, (
        f"the client sent {CLIENT_HOP}: these hop-by-hop headers reached the backend: {leaked} "
        f"(Connection names X-Client-Hop, so it is hop-by-hop too)"
    )
    assert seen.get("x-request-id") == "req-hop", f"the end-to-end header X-Request-Id did not reach the backend (it saw {sorted(seen)})"

    reply = cluster.request("GET", "/__grader/hop")
    assert reply.status == 200 and reply.body == b"first chunk;second chunk;last chunk", (
        f"GET /__grader/hop (a chunked 200 with hop-by-hop headers): expected 200 and the de-chunked body, got {reply.describe()}"
    )
    problems = []
    if reply.header_values("X-End-To-End") != ["kept"]:
        problems.append(f"X-End-To-End: {reply.header_values('X-End-To-End')} (expected ['kept'])")
    if reply.header_values("Set-Cookie") != ["a=1; Path=/", "b=2; Path=/"]:
        problems.append(f"Set-Cookie: {reply.header_values('Set-Cookie')} (expected two headers, a=1 then b=2)")
    for name, value, why in (("X-Backend-Hop", None, "the backend's Connection header names it"),
                             ("Proxy-Authenticate", None, "hop-by-hop"), ("Keep-Alive", "timeout=99, max=7", "the backend's, hop-by-hop")):
        relayed = [v for v in reply.header_values(name) if value is None or v == value]
        if relayed:
            problems.append(f"{name}: {relayed} relayed ({why})")
    assert not problems, f"the backend answered with end-to-end and hop-by-hop headers; the client got: {'; '.join(problems)}"


def test_survives_malformed_requests(cluster):
    """A malformed request (a bad Content-Length) gets a 400, not a crash or a hang, and the LB keeps serving"""
    cluster.require_proxying()
    for garbage in (b"POST / HTTP/1.1\r\nHost: lb\r\nContent-Length: nope\r\n\r\n", b"POST / HTTP/1.1\r\nHost: lb\r\nContent-Length: -5\r\n\r\n"):
        status_line = cluster.raw(garbage)
        code = status_line.split()[1] if status_line.startswith("HTTP/1.") and len(status_line.split()) > 1 else ""
        assert code == "400", f"sent {garbage[:40]!r}: expected an HTTP 400 status line, got {status_line[:80]!r}"
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


def burst(host, port, size):
    """`size` GETs sent at the same instant (connected first, released by a barrier): who answered each."""
    barrier, got = threading.Barrier(size), []

    def one() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT)
        try:
            conn.connect()
            barrier.wait(timeout=REQUEST_TIMEOUT)
            conn.request("GET", "/")
            response = conn.getresponse()
            response.read()
            got.append(response.getheader("X-Backend") or f"status {response.status}")
        except (OSError, http.client.HTTPException, threading.BrokenBarrierError) as exc:
            got.append(type(exc).__name__)
        finally:
            conn.close()

    threads = [threading.Thread(target=one) for _ in range(size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return Counter(got)


def test_rotation_is_exact_when_threads_interleave(cluster):
    """Strict rotation is exact however threads interleave: 8 bursts of 30 simultaneous requests, 10 per backend each"""
    cluster.require_proxying()
    rounds, size = 8, 30
    with cluster.provoked() as lb:
        parts = urlsplit(lb.url)
        for number in range(1, rounds + 1):
            counts = burst(parts.hostname, parts.port, size)
            assert all(counts[name] == size // 3 for name in BACKENDS), (
                f"burst {number} of {rounds}: {size} simultaneous requests to the LB, run with another thread switched in "
                f"between any two of its lines, went {dict(sorted(counts.items()))}: expected {size // 3} each -- "
                f"the rotation's read and update of its position must be one atomic step (a lock)"
            )


def test_backend_failing_mid_request_is_a_502(cluster):
    """A backend that dies mid-request: a 502 (never a short body passed off as whole), and the request is not sent again"""
    cluster.require_proxying()
    before = {name: len(cluster.events(name)) for name in BACKENDS}
    reply = cluster.request("POST", "/__grader/drop", b'{"charge": 1}', {"Content-Type": "application/json"})
    received = sum(1 for name in BACKENDS for event in cluster.events(name)[before[name]:] if event.get("path") == "/__grader/drop")
    assert reply.status == 502, f"POST /__grader/drop: the backend read the request and closed the connection unanswered; expected 502, got {reply.describe()}"
    assert received == 1, (
        f"POST /__grader/drop reached {received} backends: once a request was sent, a failure is a 502, never a retry elsewhere"
    )
    reply = cluster.request("GET", "/__grader/truncate")
    broken = reply.status == 0 and "IncompleteRead" in reply.error
    assert reply.status == 502 or broken, (
        f"GET /__grader/truncate: the backend announced 1000 bytes, sent 100 and closed; expected a 502 (or, once the "
        f"status was relayed, a connection closed before the body's end), got {reply.describe()}"
    )
    reply = cluster.request()
    assert reply.status == 200, f"after backends failed mid-request, a normal GET got {reply.describe()}"


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


def drive(cluster, name, script, then, done, seconds=12.0):
    """Script `name`'s health answers, then send sequential GETs through the LB every 10 ms until
    done(`name`'s events since the script) or `seconds` pass; returns (replies, every backend's
    events since the script). The backends share one kernel, so their event times compare."""
    starts = {backend: len(cluster.events(backend)) for backend in BACKENDS}  # before the script: no answer missed
    cluster.script_health(name, script, then)
    replies = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        replies.append(cluster.request())
        time.sleep(0.01)
        if len(replies) % 5 == 0 and done(cluster.events(name)[starts[name]:]):
            break
    return replies, {backend: cluster.events(backend)[starts[backend]:] for backend in BACKENDS}


def probes_answered(events, ok):
    return [event["t"] for event in events if event["kind"] == "probe" and (event["status"] == 200) == ok]


def requests_served(events, low=float("-inf"), high=float("inf")):
    return [event["t"] for event in events if event["kind"] == "request" and low < event["t"] < high]


class TooFewRequests(BreakfixError):
    """The grader could not send enough requests inside a window to give a verdict either way."""


def must_take_turns(events, name, low, high, what):
    """In strict rotation, 3 requests in a row to the other two backends cannot happen while `name`
    is in rotation: so if they served 3 in (low, high) and `name` none, it was out. With fewer the
    grader was too slow to tell: no verdict at all."""
    others = sum(len(requests_served(events[backend], low, high)) for backend in BACKENDS if backend != name)
    if not requests_served(events[name], low, high):
        if others < 3:
            raise TooFewRequests(f"the grader sent too few requests ({others}) in {high - low:.2f} s to judge {what}: the machine is overloaded")
        return False
    return True


CYCLES = 3  # attempts at a measurement the grader was too slow to make


def test_fall_and_rise_are_exact_counts(cluster):
    """Removed after exactly --fall consecutive failed checks, re-admitted after exactly --rise passes; failures apart do not add up"""
    cluster.require_proxying()
    fall, rise, name = cluster.fall, cluster.rise, "app-3"
    # A window too short for the grader's requests on a loaded machine gives no verdict, so that fall and
    # rise cycle is measured again from the start; any verdict, pass or fail, is final.
    for cycle in range(1, CYCLES + 1):
        try:
            removed_and_readmitted_after_exact_counts(cluster, name, fall, rise)
            break
        except TooFewRequests:
            if cycle == CYCLES:
                raise
            drive(cluster, name, [], 200, lambda ev: len(probes_answered(ev, True)) > rise)  # back in rotation, as at the start

    script = [500, 200] * (fall - 1) + [500]  # `fall` failures, never two in a row
    replies, _ = drive(cluster, name, script, 200, lambda ev: sum(e["kind"] == "probe" for e in ev) > len(script) + rise)
    order = [reply.backend for reply in replies]
    gaps = [start for start in range(len(order) - 2) if len(set(order[start:start + 3])) != 3]
    assert not gaps, (
        f"{name}'s checks answered {script} (then 200): {fall} failures but never {fall} in a row, so it must stay in "
        f"rotation; requests {gaps[0] + 1}-{gaps[0] + 3} went to {order[gaps[0]:gaps[0] + 3]}"
    )


def removed_and_readmitted_after_exact_counts(cluster, name, fall, rise):
    # the LB acts on a check's answer within milliseconds and checks are 0.5 s apart: a request that
    # reaches the backend 0.3 s after the deciding answer was sent after the LB knew it, and 0.1 s
    # after it the LB has surely put a re-admitted backend back in its rotation
    in_flight, settle = 0.3, 0.1

    _, events = drive(cluster, name, [], 500, lambda ev: len(probes_answered(ev, False)) > fall)
    failed = probes_answered(events[name], False)
    assert len(failed) > fall, f"{name}'s /healthz answered 500: it got only {len(failed)} checks in 12 s"
    assert must_take_turns(events, name, failed[fall - 2] + 0.05, failed[fall - 1], f"--fall {fall}"), (
        f"--fall {fall}: after {fall - 1} failed checks in a row {name} must keep its turns, but between its failed "
        f"checks {fall - 1} and {fall} the others served 3 requests in a row and it none (removed too early)"
    )
    late = requests_served(events[name], failed[fall - 1] + in_flight)
    assert not late, (
        f"--fall {fall}: {name} still got {len(late)} requests, up to {late[-1] - failed[fall - 1]:.2f} s after its "
        f"failed check {fall} (removed too late, or never)"
    )

    _, events = drive(cluster, name, [], 200, lambda ev: len(probes_answered(ev, True)) > rise)
    passed = probes_answered(events[name], True)
    assert len(passed) > rise, f"{name}'s /healthz answered 200 again: it got only {len(passed)} checks in 12 s"
    early = requests_served(events[name], high=passed[rise - 1])
    assert not early, f"--rise {rise}: {name} got a request after fewer than {rise} passed checks (re-admitted too early)"
    assert must_take_turns(events, name, passed[rise - 1] + settle, passed[rise], f"--rise {rise}"), (
        f"--rise {rise}: after its passed check {rise}, {name} must be back, but before its next check the others "
        f"served 3 requests in a row and it none (re-admitted too late, or never)"
    )


def test_no_healthy_backend_is_a_quick_503(cluster):
    """With every backend down, the LB answers 503 at once (it does not hang or crash)"""
    cluster.require_proxying()
    for name in BACKENDS:
        cluster.crash(name)
    cluster.wait_for_detection()
    reply = cluster.request()
    assert reply.status == 503 and reply.seconds < 2.0, f"every backend is down: expected a prompt 503, got {reply.describe()}"
