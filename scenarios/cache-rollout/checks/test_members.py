"""Before any release: every member of the storefront's ring runs, and the storefront reads through the cache."""


def test_cache_runs_every_member(cache):
    """the cache runs all 3 members of the storefront's ring (cache-0, cache-1, cache-2), each Ready"""
    cache.wait_settled()
    replicas = cache.statefulset().spec.replicas or 0
    ready = cache.ready()
    missing = sorted(set(cache.ring) - set(ready))
    assert replicas >= len(cache.ring) and not missing, (
        f"the cache runs {replicas} member(s), Ready: {', '.join(ready) or 'none'}; the storefront hashes keys over "
        f"{', '.join(cache.ring)}: the keys of {', '.join(missing) or 'the missing members'} have one copy left, or none"
    )


def test_storefront_reads_through_the_cache(cache):
    """the storefront serves its product pages from the cache: at least 80% hits in steady state"""
    cache.wait_settled()
    samples = cache.probe(99, 4.0)
    served = [s for s in samples if s.status == 200]
    assert served, f"the storefront answered none of {len(samples)} requests: {samples[0].error or samples[0].status if samples else 'no response'}"
    hits = sum(s.outcome == "hit" for s in served)
    outcomes = sorted({s.outcome or "none" for s in served})
    assert hits >= cache.floor * len(served), (
        f"{hits} of {len(served)} product pages came from the cache (X-Cache: {', '.join(outcomes)}): every miss is a "
        "catalog database read -- is the storefront using its cache, and is the cache warm?"
    )
