"""A release of the cache: a new version rolls out to every member while clients keep reading."""

def test_release_reaches_every_member(release, cache):
    """a new version of the cache rolls out to every member (each one replaced by a pod of the new revision)"""
    assert not release.precondition, release.precondition
    pods = cache.members()
    updated = sorted(pod.metadata.name for pod in pods if (pod.metadata.labels or {}).get("controller-revision-hash") == release.revision
                     and release.before.get(pod.metadata.name) != pod.metadata.uid)
    assert len(updated) >= len(cache.ring), (
        f"the release reached {len(updated)} of {len(cache.ring)} members in {release.seconds:.0f}s "
        f"({', '.join(updated) or 'none'}): a fix that never rolls a new version out is not a zero-downtime release "
        "-- what do the StatefulSet's update strategy and its status say?"
    )
    assert release.finished, f"the StatefulSet did not report the release complete within {cache.release_seconds}s"


def test_no_failed_requests_during_a_release(release):
    """a client reading product pages through the storefront sees zero failed requests during a release"""
    assert not release.precondition, release.precondition
    assert release.samples, "the client probe got no response at all"
    failed = [s for s in release.samples if s.status != 200]
    wrong = [s for s in release.samples if s.status == 200 and not s.right]
    assert not failed, (
        f"{len(failed)} of {len(release.samples)} requests failed during the release, the first {failed[0].seconds:.0f}s in "
        f"({failed[0].error or failed[0].status}; Ready members then: {', '.join(failed[0].ready) or 'none'})"
    )
    assert not wrong, f"{len(wrong)} product pages did not match the catalog's record of the product asked for"


def test_hit_rate_holds_during_a_release(release, cache):
    """the cache hit rate never falls below 80% over any 150 consecutive requests during a release"""
    assert not release.precondition, release.precondition
    served = [s for s in release.samples if s.status == 200]
    assert len(served) >= cache.window, f"only {len(served)} requests were served during the release: too few to judge a hit rate"
    hits = [s.outcome == "hit" for s in served]
    total = sum(hits[:cache.window])
    worst, at = total, 0
    for index in range(cache.window, len(hits)):
        total += hits[index] - hits[index - cache.window]
        if total < worst:
            worst, at = total, index - cache.window + 1
    rate = worst / cache.window
    low = served[at + cache.window - 1]
    assert rate >= cache.floor, (
        f"the hit rate fell to {rate:.0%} over {cache.window} consecutive requests, {low.seconds:.0f}s into the release "
        f"(Ready members then: {', '.join(low.ready) or 'none'}; every miss is a catalog database read): "
        "what does a member hold when it starts, and when does it start receiving traffic?"
    )
