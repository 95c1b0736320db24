"""Redis as the limiter's store: keys that stop sending expire; a Redis restart is survived as the policy says."""

# a request answered later than this while Redis is frozen (for 3 s) or restarting waited on the store
OUTAGE_ANSWER_SECONDS = 2.0


def test_redis_forgets_keys_that_stopped_sending(contract, forgetting):
    """What the limiter keeps in Redis expires: a window after 300 keys sent once, their state is gone"""
    after, later = forgetting.after_wave, forgetting.later
    for seen in (after, later):
        assert "error" not in seen, f"could not read Redis: {seen['error']}"
    assert not after["no_ttl"], f"Redis keys without an expiry (they live forever): {', '.join(after['no_ttl'])}"
    assert after["max_ttl_ms"] <= 2 * contract.window * 1000, (
        f"a Redis key expires only in {after['max_ttl_ms'] / 1000:.0f} s; the limit needs at most one {contract.window} s window of history"
    )
    allowed = forgetting.wave_keys // 10 + 20
    assert later["records"] <= allowed, (
        f"{contract.window + 1.5:.1f} s after {forgetting.wave_keys} keys sent one request each and stopped, Redis still holds "
        f"{later['records']} records in {later['keys']} keys (at most {allowed}): the state of keys that stopped sending stays"
    )


def test_redis_outage_fails_open(outage):
    """While Redis is frozen and then restarted, every request still gets a prompt 200 (fail open)"""
    hits = outage.stream.hits
    timeline = "; ".join(outage.events)
    unsent = sum(hit.error == "not sent" for hit in hits)
    assert hits and not unsent, (
        f"{unsent} of {len(hits)} requests could not even be sent within the outage run ({timeline}): "
        "the ones before them hung -- a request must not wait on a dead store"
    )
    refused = [hit for hit in hits if hit.status != 200]
    kinds = sorted({str(hit.status) if hit.status else hit.error for hit in refused})
    assert not refused, (
        f"{len(refused)} of {len(hits)} requests of keys far under their limit were not served while Redis was frozen, "
        f"then restarted ({timeline}): got {', '.join(kinds)}; the policy is to fail open"
    )
    slow = [hit for hit in hits if hit.seconds > OUTAGE_ANSWER_SECONDS]
    assert not slow, (
        f"{len(slow)} of {len(hits)} requests took over {OUTAGE_ANSWER_SECONDS:.1f} s while Redis was out "
        f"(slowest {max(hit.seconds for hit in slow):.1f} s): a request must not wait on a dead store"
    )


def test_limit_returns_after_redis_restart(contract, outage):
    """Once Redis is back (empty), the limit holds again within 2 s"""
    phase = outage.recovered
    broken = phase.failures()
    assert not broken, f"after the Redis restart: {broken}"
    counts = phase.accepted(sorted(phase.by_key()))
    low, high = contract.bounds()
    off = {key: count for key, count in counts.items() if not low <= count <= high}
    assert not off, (
        "1.5 s after Redis answered again, fresh keys sending 150 requests each got "
        + ", ".join(f"{count}" for count in counts.values())
        + f" accepted ({low}-{high} expected): the limit does not hold once Redis is back"
    )
