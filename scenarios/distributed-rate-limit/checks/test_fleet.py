"""The fleet stays a fleet: nginx in the path, every replica serving, the limiter cheap."""

import pytest

from harness.checks import oversubscribed

# what the limiter may add to a request at p99 (README "The limit")
LATENCY_BUDGET = 0.050
# /healthz's own p99 - p50 past which the machine, not the code, sets the tail: a few ms when idle
BUSY_JITTER = 0.100
# runnable tasks per core, on average while the latency phase runs, past which a cross-process hop
# waits for a core: 0.8-1.1 per core here when idle (the phase's own load included)
BUSY_RUN_QUEUE = 2


def test_nginx_spreads_traffic_over_every_replica(instance, even):
    """127.0.0.1:8100 is nginx, and each of the three replicas serves a fair share through it"""
    problem = instance.load_balancer_problem("lb")
    assert problem is None, problem
    served = {name: 0 for name in ("api-1", "api-2", "api-3")}
    answered = [hit for hit in even.phase.hits if hit.key and hit.status in (200, 429)]
    for hit in answered:
        served[hit.served_by] = served.get(hit.served_by, 0) + 1
    total = len(answered) or 1
    shares = ", ".join(f"{name} {served[name] * 100 // total}%" for name in ("api-1", "api-2", "api-3"))
    starved = [name for name in ("api-1", "api-2", "api-3") if served[name] < total * 0.2]
    assert not starved, f"replica(s) {', '.join(starved)} get too little of the traffic through nginx ({shares})"


def _quantile(seconds: list[float], q: float) -> float:
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else 0.0


def test_limiter_adds_little_latency(latency):
    """The limiter adds under 50 ms at p99 over /healthz, beyond this machine's own jitter"""
    broken = latency.failures()
    assert not broken, broken
    limited = [hit.seconds for hit in latency.hits if hit.key and hit.status in (200, 429)]
    plain = [hit.seconds for hit in latency.hits if not hit.key and hit.status == 200]
    assert limited and plain, f"too few answers to compare latencies ({len(limited)} limited, {len(plain)} /healthz)"
    # A busy machine stretches every request's tail, a limiter's more (it waits on one more
    # process): the budget grows by the jitter /healthz itself shows here (its p99 - p50), which
    # is a few ms on an idle machine, so a limiter that really costs time fails there.
    added = _quantile(limited, 0.99) - _quantile(plain, 0.99)
    jitter = _quantile(plain, 0.99) - _quantile(plain, 0.5)
    # On a machine with several runnable processes per core, each hop to another process (the
    # limiter's to Redis) waits for a core: the tail then measures the scheduler (150 ms seen at load
    # 25 on 2 cores with 53 ms of /healthz jitter; 136 ms with a test suite starting beside the check,
    # which the 1-minute load average had not caught up with: hence the run queue sampled during the
    # phase). A limiter that costs time on every request still fails there, by its median; only its
    # tail goes unjudged.
    typical = _quantile(limited, 0.5) - _quantile(plain, 0.5)
    busy = oversubscribed(BUSY_RUN_QUEUE, during=latency.runnable)
    assert not (busy and typical > LATENCY_BUDGET), (
        f"the limiter adds {typical * 1000:.0f} ms to a typical (median) request over /healthz, interleaved on the same replicas; "
        f"the budget is {LATENCY_BUDGET * 1000:.0f} ms"
    )
    if added > LATENCY_BUDGET + jitter and (jitter > BUSY_JITTER or busy):
        # a tail this long on the reference itself measures the machine, not the limiter
        pytest.skip(f"not judged: this machine is too busy to measure the limiter's latency (/healthz alone: p50 "
                    f"{_quantile(plain, 0.5) * 1000:.0f} ms, p99 {_quantile(plain, 0.99) * 1000:.0f} ms; {_runnable(latency)}); "
                    "run the check again when it is quieter")
    assert added <= LATENCY_BUDGET + jitter, (
        f"p99 of rate-limited calls {_quantile(limited, 0.99) * 1000:.0f} ms against {_quantile(plain, 0.99) * 1000:.0f} ms "
        f"for /healthz on the same replicas, interleaved: the limiter adds {added * 1000:.0f} ms; the budget is "
        f"{LATENCY_BUDGET * 1000:.0f} ms plus this machine's jitter ({jitter * 1000:.0f} ms: /healthz p99 - p50; {_runnable(latency)})"
    )


def _runnable(phase):
    queue = phase.runnable
    return f"{queue.mean():.1f} runnable tasks on average meanwhile" if queue is not None and queue.samples else "run queue not sampled"
