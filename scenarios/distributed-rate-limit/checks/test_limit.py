"""The limit itself: per key, across the fleet, whatever the balancing; 429s that say when to retry."""



def _holds(run, phase, keys: list[str], sent: int, where: str) -> None:
    broken = phase.failures()
    assert not broken, f"{where}: {broken}"
    assert phase.seconds <= phase.room, (
        f"{where}: the requests took {phase.seconds:.1f} s, longer than the {phase.room:.0f} s of window the grader gave them; "
        "the API answers too slowly to be graded (see the latency condition)"
    )
    counts = phase.accepted(keys)
    low, high = round(run.limit * (1 - run.tolerance)), round(run.limit * (1 + run.tolerance))
    off = {key: count for key, count in counts.items() if not low <= count <= high}
    shown = ", ".join(f"{key[-4:]}: {count}" for key, count in sorted(counts.items()))
    assert not off, (
        f"{where}: each key sent {sent} requests within one {run.window} s window; {low}-{high} must be accepted "
        f"(the limit is {run.limit}), accepted per key (name ends): {shown}"
    )


def test_each_key_gets_the_limit_across_the_fleet(run) -> None:
    """Through nginx, each busy key gets its limit (within 5%) across all three replicas together"""
    _holds(run, run.even, run.heavy_even, 150, "through nginx (round robin)")


def test_limit_holds_when_balancing_is_uneven(run) -> None:
    """The limit holds when one replica gets 70% of a key's traffic and the others 20% and 10%"""
    _holds(run, run.skewed, run.heavy_skewed, 150, "straight to the replicas, 70/20/10")


def test_keys_are_isolated(run) -> None:
    """A key under its limit is never refused, however hard other keys hit the API"""
    counts = run.even.accepted(run.light_even)
    refused = {key: 25 - count for key, count in counts.items() if count < 25}
    assert not refused, (
        "keys that sent 25 requests each (a quarter of the limit) beside six keys sending 150 had requests refused: "
        + ", ".join(f"{key[-4:]}: {count} of 25" for key, count in sorted(refused.items()))
    )


def test_429_says_when_to_retry(run) -> None:
    """Every 429 carries Retry-After in whole seconds (1 to the window), and retrying after it succeeds"""
    limited = [hit for phase in (run.even, run.skewed) for hit in phase.hits if hit.status == 429]
    assert limited, "no request was refused with 429: there is no limit to retry after"
    bad = sorted({str(hit.retry_after) for hit in limited if not (hit.retry_after or "").isdigit() or not 1 <= int(hit.retry_after or 0) <= run.window})
    assert not bad, f"429 responses with a Retry-After that is not a whole number of seconds from 1 to {run.window}: {', '.join(bad[:5])}"
    assert len(run.probes) == len(run.heavy_even), (
        f"only {len(run.probes)} of {len(run.heavy_even)} keys sending 150 requests through nginx got a 429 to retry after"
    )
    early = [(key, retry_after, probe) for key, retry_after, probe in run.probes if probe.status != 200]
    assert not early, "a request sent once Retry-After had passed was still refused: " + ", ".join(
        f"key ...{key[-4:]} told Retry-After: {retry_after}, then got {probe.status or probe.error}" for key, retry_after, probe in early
    )
