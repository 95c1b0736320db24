"""The limit itself: per key, across the fleet, whatever the balancing; 429s that say when to retry."""


from harness.checks import BreakfixError


def _holds(contract, phase, keys: list[str], sent: int, where: str) -> None:
    broken = phase.failures()
    assert not broken, f"{where}: {broken}"
    # a key's requests spread over more than a window may rightly get more than the limit
    slow = max(phase.span(key) for key in keys)
    if slow > contract.window - 0.5:
        raise BreakfixError(
            f"{where}: a key's {sent} requests took {slow:.1f} s, about the {contract.window} s window, so the limit "
            "cannot be judged (this machine is too busy now, or the API answers slowly: see the latency condition)"
        )
    counts = phase.accepted(keys)
    low, high = contract.bounds()
    off = {key: count for key, count in counts.items() if not low <= count <= high}
    shown = ", ".join(f"{key[-4:]}: {count}" for key, count in sorted(counts.items()))
    assert not off, (
        f"{where}: each key sent {sent} requests within one {contract.window} s window; {low}-{high} must be accepted "
        f"(the limit is {contract.limit}), accepted per key (name ends): {shown}"
    )


def test_each_key_gets_the_limit_across_the_fleet(contract, even) -> None:
    """Through nginx, each busy key gets its limit (within 5%) across all three replicas together"""
    _holds(contract, even.phase, even.keys, even.sent, "through nginx (round robin)")


def test_limit_holds_when_balancing_is_uneven(contract, skewed) -> None:
    """The limit holds when one replica gets 70% of a key's traffic and the others 20% and 10%"""
    _holds(contract, skewed.phase, skewed.keys, skewed.sent, "straight to the replicas, 70/20/10")


def test_keys_are_isolated(even) -> None:
    """A key under its limit is never refused, however hard other keys hit the API"""
    sent = len(even.phase.by_key()[even.light[0]])
    counts = even.phase.accepted(even.light)
    refused = {key: sent - count for key, count in counts.items() if count < sent}
    assert not refused, (
        f"keys that sent {sent} requests each (a quarter of the limit) beside {len(even.keys)} keys sending {even.sent} had requests refused: "
        + ", ".join(f"{key[-4:]}: {count} of {sent}" for key, count in sorted(refused.items()))
    )


def test_429_says_when_to_retry(contract, even, skewed, forgetting) -> None:
    """Every 429 carries Retry-After in whole seconds (1 to the window), and retrying after it succeeds"""
    limited = [hit for phase in (even.phase, skewed.phase) for hit in phase.hits if hit.status == 429]
    assert limited, "no request was refused with 429: there is no limit to retry after"
    bad = sorted({str(hit.retry_after) for hit in limited if not (hit.retry_after or "").isdigit() or not 1 <= int(hit.retry_after or 0) <= contract.window})
    assert not bad, f"429 responses with a Retry-After that is not a whole number of seconds from 1 to {contract.window}: {', '.join(bad[:5])}"
    assert len(forgetting.probes) == len(even.keys), (
        f"only {len(forgetting.probes)} of {len(even.keys)} keys sending {even.sent} requests through nginx got a 429 to retry after"
    )
    early = [(key, retry_after, probe) for key, retry_after, probe in forgetting.probes if probe.status != 200]
    assert not early, "a request sent once Retry-After had passed was still refused: " + ", ".join(
        f"key ...{key[-4:]} told Retry-After: {retry_after}, then got {probe.status or probe.error}" for key, retry_after, probe in early
    )
