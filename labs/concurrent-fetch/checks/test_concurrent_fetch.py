"""Aggregation, concurrency, retries and backoff -- judged by what the mock API recorded."""

from itertools import pairwise

import pytest

MAIN = "sk_test_main"
MAIN_RESOURCES = ["customers", "charges", "refunds", "payouts", "disputes"]
TOLERANCE = 0.02  # seconds: both timestamps come from the server's clock; this covers its own bookkeeping
# seconds a retry may come after its nominal delay: a loaded machine schedules late, never early (0.5 s was
# exceeded at load ~30 on 2 cores). Ignoring max_delay still fails: the cap call's 5th retry waits >= 1.6 s
# against 0.3 s + LATE, and delays of the next n fail the under-nominal test, which lateness cannot help.
LATE = 1.0


def test_result_has_every_page_of_every_resource(fetch_run):
    """Every object of every resource, all pages, in API order, nothing twice (an empty resource is [])"""
    result = fetch_run.result("main")
    assert isinstance(result, dict) and sorted(result) == sorted(MAIN_RESOURCES), (
        f"expected a dict keyed by the requested resources {MAIN_RESOURCES}, got keys {sorted(result) if isinstance(result, dict) else type(result).__name__}"
    )
    for resource in MAIN_RESOURCES:
        expected, got = fetch_run.dataset[resource], result[resource]
        expected_ids = [item["id"] for item in expected]
        got_ids = [item.get("id") if isinstance(item, dict) else item for item in got]
        if got_ids != expected_ids:
            missing = [i for i in expected_ids if i not in got_ids][:5]
            extra = [i for i in got_ids if i not in expected_ids or got_ids.count(i) > 1][:5]
            raise AssertionError(
                f"{resource}: expected {len(expected_ids)} objects {expected_ids[:2]}...{expected_ids[-1:]}, got {len(got_ids)}"
                f" (missing {missing}, duplicated or unknown {extra}, order {'differs' if sorted(got_ids) == sorted(expected_ids) else 'n/a'})"
            )
        assert got == expected, f"{resource}: the objects' contents differ from what the API returned (first: {got[:1]})"


def test_each_page_fetched_once(fetch_run):
    """Each page is fetched successfully exactly once, following the starting_after cursor"""
    fetch_run.result("main")
    doubled = {page: sum(a.status == 200 for a in attempts) for page, attempts in fetch_run.chains(MAIN).items()}
    doubled = {page: n for page, n in doubled.items() if n > 1}
    assert not doubled, f"pages fetched successfully more than once (resource, starting_after): {doubled}"
    bad = [r for r in fetch_run.requests(MAIN) if r["status"] in (400, 404)]
    assert not bad, f"requests the API rejected: {[(r['path'], r['query'], r['status']) for r in bad[:3]]}"


def test_resources_are_fetched_concurrently(fetch_run):
    """Resources are fetched concurrently: several requests in flight, total time well under a serial fetch"""
    fetch_run.result("main")
    peak = fetch_run.peak_in_flight.get(MAIN, 0)
    assert peak >= 3, f"at most {peak} request(s) were in flight at once while fetching 5 resources: fetch them concurrently"
    serial = sum(r["end"] - r["start"] for r in fetch_run.requests(MAIN) if r["status"] == 200) + 1.0  # + the 429's wait
    took = fetch_run.outcome("main")["seconds"]
    assert took < serial, f"fetch_all took {took:.1f} s; fetching the pages one after another takes at least {serial:.1f} s"


def test_honours_retry_after_on_429(fetch_run):
    """After a 429 with Retry-After: 1, the retry comes no sooner than 1 s later"""
    fetch_run.result("main")
    attempts = fetch_run.chains(MAIN).get(("charges", "ch_0010"), [])
    statuses = [a.status for a in attempts]
    assert statuses[:1] == [429] and 200 in statuses, f"charges page 2 (starting_after=ch_0010): expected 429 then a retry that succeeds, saw {statuses}"
    gap = attempts[1].start - attempts[0].end
    assert gap >= 1.0 - TOLERANCE, f"charges page 2 got 429 with Retry-After: 1; the retry came {gap:.2f} s later (must wait at least 1 s)"


def _backoff_gaps(fetch_run, *, uncapped: bool = False) -> list[tuple[str, int, float, float]]:
    """(page, retry number, nominal delay, observed gap) for every retry after a 5xx; `uncapped`: only
    the retries whose next delay would still be larger (where a delay of the wrong n shows)."""
    gaps = []
    for key, (base, cap) in fetch_run.backoff.items():
        for (resource, cursor), attempts in fetch_run.chains(key).items():
            for number, (failed, retry) in enumerate(pairwise(attempts)):
                if failed.status >= 500 and not (uncapped and base * 2 ** (number + 1) > cap):
                    gaps.append((f"{resource}[{cursor or 'first page'}]", number, min(cap, base * 2**number), retry.start - failed.end))
    return gaps


def test_backoff_is_exponential(fetch_run):
    """Retries after a 5xx wait between half and all of min(max_delay, base_delay * 2**n)"""
    gaps = _backoff_gaps(fetch_run)
    assert len(gaps) >= 8, f"expected at least 8 retries after scripted 5xx answers, the API saw {len(gaps)}"
    for page, number, nominal, gap in gaps:
        assert nominal / 2 - TOLERANCE <= gap <= nominal + LATE, (
            f"{page}: retry {number + 1} came {gap:.3f} s after the 5xx; with base_delay 0.2 the delay must be in "
            f"[{nominal / 2:.2f}, {nominal:.2f}] s (min(max_delay, base_delay * 2**{number}) with jitter)"
        )


def test_backoff_stays_under_its_nominal_delay(fetch_run):
    """Retry n (n = 0 for the first) waits at most min(max_delay, base_delay * 2**n): some delays fall well under it"""
    gaps = _backoff_gaps(fetch_run, uncapped=True)
    assert len(gaps) >= 12, f"expected at least 12 retries after scripted 5xx answers below max_delay, the API saw {len(gaps)}"
    # a delay drawn from [d/2, d] lands under 0.9 d four times in five; with a delay of the next n
    # (or any other over d) none does, however the machine schedules
    under = [gap for _, _, nominal, gap in gaps if gap < 0.9 * nominal]
    ratios = sorted(round(gap / nominal, 2) for _, _, nominal, gap in gaps)
    assert under, (
        f"none of {len(gaps)} retries after a 5xx waited less than 0.9 x min(max_delay, base_delay * 2**n) "
        f"(delay/nominal: {ratios}): retry n waits in [d/2, d] with d = min(max_delay, base_delay * 2**n), "
        "n = 0 for the first retry (0.1-0.2 s with base_delay 0.2)"
    )


def test_backoff_has_jitter(fetch_run):
    """Backoff delays are jittered (random), not the same fixed schedule for every client"""
    gaps = _backoff_gaps(fetch_run)
    assert gaps, "no retries after a 5xx were seen"
    ratios = sorted(round(gap / nominal, 2) for _, _, nominal, gap in gaps)
    assert ratios[0] < 0.9, (
        f"all {len(gaps)} retry delays were the full nominal delay (delay/nominal: {ratios}): "
        "add random jitter so clients that failed together do not retry together"
    )


def test_gives_up_after_max_retries(fetch_run):
    """An endpoint that keeps failing: 1 + max_retries attempts, then FetchError with resource and status"""
    error = fetch_run.outcome("exhaust").get("error")
    attempts = len(fetch_run.requests("sk_test_exhaust", "balance_transactions"))
    assert attempts == 5, f"balance_transactions answers 503 forever; with max_retries=4 expected 5 attempts, the API saw {attempts}"
    assert error is not None, "fetch_all returned normally although balance_transactions never succeeded: raise FetchError"
    assert error["type"] == "FetchError" and error["resource"] == "balance_transactions" and error["status"] == 503, (
        f"expected FetchError(resource='balance_transactions', status=503), got {error['type']}"
        f"(resource={error['resource']!r}, status={error['status']!r}): {error['text'][:120]}"
    )


def test_no_retry_on_other_4xx(fetch_run):
    """A 404 or 401 is not retried: one request, then FetchError with that status"""
    for call, key, resource, status in (("not-found", "sk_test_4xx", "transfers", 404), ("bad-key", "sk_live_revoked", "customers", 401)):
        attempts = len(fetch_run.requests(key, resource))
        assert attempts == 1, f"GET /v1/{resource} answered {status}; it must not be retried, the API saw {attempts} requests"
        error = fetch_run.outcome(call).get("error")
        assert error is not None and error["type"] == "FetchError" and error["status"] == status, (
            f"GET /v1/{resource} answered {status}: expected FetchError(status={status}), got "
            f"{'a normal return' if error is None else error['type'] + ' status=' + repr(error['status'])}"
        )


def test_retries_every_5xx(fetch_run):
    """Every 5xx is transient (501, 504, 507, 599 too, not only 500/502/503): retried until the page succeeds"""
    result = fetch_run.result("backoff")
    chains = fetch_run.chains("sk_test_backoff")
    for resource in ("customers", "charges", "refunds", "payouts"):
        statuses = [a.status for a in chains.get((resource, ""), [])]
        assert statuses[-1:] == [200] and len(statuses) == 4, (
            f"{resource} (first page) answered {statuses[:3]} before succeeding: expected 3 retries and a 200, the API saw {statuses}"
        )
    for resource in ("customers", "charges", "refunds", "payouts"):
        got = [item.get("id") if isinstance(item, dict) else item for item in result.get(resource, [])]
        expected = [item["id"] for item in fetch_run.dataset[resource]]
        assert got == expected, f"{resource} after its first page answered three 5xx: expected {len(expected)} objects, got {len(got)}"


def test_status_is_the_last_attempts(fetch_run):
    """FetchError.status is the last attempt's: None when a 503 is followed by a timeout"""
    error = fetch_run.outcome("timeout").get("error")
    attempts = len(fetch_run.requests("sk_test_timeout", "payouts"))
    assert attempts == 2, f"GET /v1/payouts answered 503, then nothing within the 0.5 s timeout; with max_retries=1 expected 2 attempts, the API saw {attempts}"
    assert error is not None and error["type"] == "FetchError" and error["resource"] == "payouts" and error["status"] is None, (
        "GET /v1/payouts answered 503, then its retry timed out (max_retries=1): expected FetchError(resource='payouts', "
        "status=None) -- the last attempt got no response --, got "
        + ("a normal return" if error is None else f"{error['type']}(resource={error['resource']!r}, status={error['status']!r})")
    )


NOT_A_PAGE = {
    "malformed": ("events", "an HTML page (not JSON)"),
    "wrong-shape": ("invoices", 'a JSON object that is not a list page ({"object": "invoice", "id": ...})'),
    "json-array": ("plans", "a bare JSON array"),
}


@pytest.mark.parametrize("call", list(NOT_A_PAGE))
def test_malformed_page_is_a_fetch_error(fetch_run, call):
    """A 200 whose body is not a JSON list page ends in FetchError(resource, 200), not a crash or a result"""
    resource, what = NOT_A_PAGE[call]
    error = fetch_run.outcome(call).get("error")
    assert error is not None, f"GET /v1/{resource} answered 200 with {what}; fetch_all returned normally instead of raising FetchError"
    assert error["type"] == "FetchError" and error["resource"] == resource and error["status"] == 200, (
        f"GET /v1/{resource} answered 200 with {what}: expected FetchError(resource={resource!r}, status=200), got "
        f"{error['type']}(resource={error['resource']!r}, status={error['status']!r}): {error['text'][:120]}"
    )
    attempts = len(fetch_run.requests("sk_test_4xx", resource))
    assert attempts <= 5, f"GET /v1/{resource} was requested {attempts} times (at most 1 + max_retries = 5)"
