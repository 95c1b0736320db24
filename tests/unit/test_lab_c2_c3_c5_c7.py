"""The reference solutions and grader helpers of labs C2 rate-limiter, C3 concurrent-fetch,
C5 s3-sync and C7 l7-load-balancer, in-process on 127.0.0.1 (the graders run them in sandbox
containers; `breakfix verify` proves the labs end to end)."""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from types import ModuleType

import boto3
import pytest
from moto import mock_aws

from tests import content_modules

LABS = Path(__file__).resolve().parents[2] / "labs"
MiB = 1024 * 1024


def load(lab: str, relative: str) -> ModuleType:
    return content_modules.load(f"labs/{lab}/{relative}")


# -- rate-limiter ------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def limited():
    clock = Clock()
    app_calls: list[str] = []

    def app(environ, start_response):
        app_calls.append(environ["HTTP_X_API_KEY"])
        start_response("200 OK", [])
        return [b"ok"]

    middleware = load("rate-limiter", "solution/ratelimit.py").RateLimitMiddleware(app, limit=3, window=60, clock=clock)

    def call(key: str | None) -> tuple[str, dict[str, str]]:
        seen: dict[str, object] = {}
        environ = {} if key is None else {"HTTP_X_API_KEY": key}
        middleware(environ, lambda status, headers: seen.update(status=status, headers=dict(headers)))
        return str(seen["status"]), seen["headers"]  # type: ignore[return-value]

    return clock, call, app_calls, middleware


def test_window_edge_and_retry_after(limited):
    clock, call, app_calls, _ = limited
    for offset in (0, 10, 20):
        clock.now = 1000 + offset
        assert call("k")[0] == "200 OK"
    clock.now = 1059.5
    status, headers = call("k")
    assert status.startswith("429") and headers["Retry-After"] == "1"
    clock.now = 1060  # the +0 request stops counting exactly here
    assert call("k")[0] == "200 OK"
    status, headers = call("k")
    assert status.startswith("429") and headers["Retry-After"] == "10"
    assert len(app_calls) == 4


def test_missing_key_and_isolation(limited):
    _, call, app_calls, _ = limited
    assert call(None)[0].startswith("401") and call("  ")[0].startswith("401")
    for _ in range(3):
        call("a")
    assert call("a")[0].startswith("429") and call("b")[0] == "200 OK"
    assert app_calls == ["a", "a", "a", "b"]


def test_idle_keys_are_forgotten(limited):
    clock, call, _, middleware = limited
    for number in range(50):
        call(f"key-{number}")
    assert len(middleware._admitted) == 50
    clock.now += 61  # a window later, the next request sweeps every expired key
    call("fresh")
    assert set(middleware._admitted) == {"fresh"}


def test_rejects_nonsense_limits():
    with pytest.raises(ValueError):
        load("rate-limiter", "solution/ratelimit.py").RateLimitMiddleware(lambda e, s: [], limit=0)

# -- concurrent-fetch --------------------------------------------------------------------------


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, ModuleType]]:
    mock = load("concurrent-fetch", "checks/mock_payments.py")
    monkeypatch.setattr(mock, "LATENCY", 0.01)
    server = mock.ThreadingHTTPServer(("127.0.0.1", 0), mock.Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", mock
    server.shutdown()
    server.server_close()


def test_reference_fetches_every_page_through_scripted_failures(api):
    url, mock = api
    fetcher = load("concurrent-fetch", "solution/fetcher.py")
    resources = ["customers", "charges", "refunds", "payouts", "disputes"]
    result = fetcher.fetch_all(url, resources, "sk_test_main", base_delay=0.01, max_delay=0.05)
    assert result == {name: mock.STATE.data[name] for name in resources}
    statuses = [r["status"] for r in mock.STATE.log if r["key"] == "sk_test_main"]
    assert statuses.count(429) == 1 and sum(s >= 500 for s in statuses) == 6
    retry_after = [r for r in mock.STATE.log if r["query"].endswith("starting_after=ch_0010")]
    assert retry_after[1]["start"] - retry_after[0]["end"] >= 1.0


def test_reference_gives_up_and_does_not_retry_4xx(api):
    url, mock = api
    fetcher = load("concurrent-fetch", "solution/fetcher.py")
    with pytest.raises(fetcher.FetchError) as exhausted:
        fetcher.fetch_all(url, ["balance_transactions"], "sk_test_exhaust", base_delay=0.01, max_retries=2)
    assert (exhausted.value.resource, exhausted.value.status) == ("balance_transactions", 503)
    with pytest.raises(fetcher.FetchError) as missing:
        fetcher.fetch_all(url, ["transfers"], "sk_test_4xx", base_delay=0.01)
    assert missing.value.status == 404
    with pytest.raises(fetcher.FetchError) as malformed:
        fetcher.fetch_all(url, ["events"], "sk_test_4xx", base_delay=0.01)
    assert (malformed.value.resource, malformed.value.status) == ("events", 200)
    attempts = [r["path"] for r in mock.STATE.log]
    assert attempts.count("/v1/balance_transactions") == 3 and attempts.count("/v1/transfers") == 1


def test_reference_on_the_answers_the_readme_now_settles(api, monkeypatch: pytest.MonkeyPatch):
    """A 503 then a timeout is status None; JSON that is not a list page is FetchError(200); every 5xx is retried."""
    url, mock = api
    monkeypatch.setattr(mock, "HANG", 0.3)
    fetcher = load("concurrent-fetch", "solution/fetcher.py")
    with pytest.raises(fetcher.FetchError) as timed_out:
        fetcher.fetch_all(url, ["payouts"], "sk_test_timeout", base_delay=0.01, max_retries=1, timeout=0.1)
    assert (timed_out.value.resource, timed_out.value.status) == ("payouts", None)
    for resource in ("invoices", "plans"):
        with pytest.raises(fetcher.FetchError) as not_a_page:
            fetcher.fetch_all(url, [resource], "sk_test_4xx", base_delay=0.01)
        assert (not_a_page.value.resource, not_a_page.value.status) == (resource, 200)
    resources = ["customers", "charges", "refunds", "payouts"]
    assert fetcher.fetch_all(url, resources, "sk_test_backoff", base_delay=0.01) == {name: mock.STATE.data[name] for name in resources}


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_mock_refuses_a_limit_out_of_range(api, limit: str):
    url, _ = api
    request = urllib.request.Request(f"{url}/v1/customers?limit={limit}", headers={"Authorization": "Bearer sk_test_main"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 400


def test_switching_limit_catches_a_lock_free_limiter_and_not_the_reference(monkeypatch: pytest.MonkeyPatch):
    from harness.agents import findings as sandbox_findings

    monkeypatch.setitem(sys.modules, "breakfix_findings", sandbox_findings)
    grader = load("rate-limiter", "checks/limiter_grader.py")
    assert grader.SwitchingInt(5) == 5 and 4 < grader.SwitchingInt(5) and not grader.SwitchingInt(5) > 5  # noqa: SIM300 -- the reflected comparison is under test
    reference = load("rate-limiter", "solution/ratelimit.py")
    monkeypatch.setitem(sys.modules, "ratelimit", reference)
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        limiter, app = grader.middleware(grader.SwitchingInt(5), grader.Clock(60_000.0, switching=True))
        statuses = grader.together(40, lambda: grader.call(limiter, "k"))
        assert statuses.count("200") == 5 and app.calls == 5
        # the no-lock fake, in-process, over the grader's own rounds: its race condition fails on the first
        # round that admits too many, and one round alone overshoots only about half the time
        admitted = []
        for round_number in range(1, grader.RACE_ROUNDS + 1):
            limiter, app = grader.middleware(grader.SwitchingInt(5), grader.Clock(60_000.0 * round_number, switching=True))
            limiter._lock = contextlib.nullcontext()
            admitted.append(grader.together(40, lambda limiter=limiter: grader.call(limiter, "k")).count("200"))
        assert max(admitted) > 5, f"the lock-free limiter admitted exactly the limit in all {grader.RACE_ROUNDS} rounds: {admitted}"
    finally:
        sys.setswitchinterval(previous)


def test_backoff_delay_is_equal_jitter():
    retry = load("concurrent-fetch", "solution/fetcher.py").Retry(max_retries=4, base_delay=0.2, max_delay=1.0)
    delays = [retry.delay(3, None) for _ in range(200)]
    assert all(0.5 <= d <= 1.0 for d in delays) and max(delays) - min(delays) > 0.3  # capped at 1.0, jittered
    assert retry.delay(0, 2.0) == 2.0  # Retry-After is a floor

# -- s3-sync -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "key", "query", "headers", "expected"),
    [
        ("PUT", "", {}, {}, "CreateBucket"),
        ("PUT", "a/b.txt", {}, {}, "PutObject"),
        ("PUT", "a/b.txt", {}, {"x-amz-copy-source": "x"}, "CopyObject"),
        ("PUT", "big", {"uploadId": ["1"], "partNumber": ["2"]}, {}, "UploadPart"),
        ("POST", "big", {"uploads": [""]}, {}, "CreateMultipartUpload"),
        ("POST", "big", {"uploadId": ["1"]}, {}, "CompleteMultipartUpload"),
        ("POST", "", {"delete": [""]}, {}, "DeleteObjects"),
        ("DELETE", "a/b.txt", {}, {}, "DeleteObject"),
        ("DELETE", "big", {"uploadId": ["1"]}, {}, "AbortMultipartUpload"),
        ("GET", "", {"list-type": ["2"]}, {}, "ListObjects"),
        ("HEAD", "a/b.txt", {}, {}, "HeadObject"),
    ],
)
def test_emulator_classifies_requests(method, key, query, headers, expected):
    assert load("s3-sync", "checks/s3_emulator.py").operation(method, key, query, headers) == expected


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="lab-sync")
        yield s3


def test_local_etags_match_what_s3_computes(bucket, tmp_path: Path):
    tool = load("s3-sync", "solution/s3sync.py")
    (tmp_path / "small.txt").write_bytes(b"hello\n")
    (tmp_path / "big.bin").write_bytes(bytes(range(256)) * (17 * MiB // 256))  # 3 parts: 8 + 8 + 1 MiB
    tool.sync(str(tmp_path), "s3://lab-sync/b", delete=False, endpoint_url=None)
    remote = tool.remote_etags(bucket, "lab-sync", "b")
    assert remote["b/big.bin"].endswith("-3")
    assert remote == {f"b/{name}": tool.s3_etag(tmp_path / name) for name in ("small.txt", "big.bin")}
    assert tool.sync(str(tmp_path), "s3://lab-sync/b", delete=False, endpoint_url=None).uploads == []


def test_destination_parsing():
    tool = load("s3-sync", "solution/s3sync.py")
    assert tool.parse_destination("s3://bucket") == ("bucket", "")
    assert tool.parse_destination("s3://bucket/a/b/") == ("bucket", "a/b")
    for bad in ("bucket/a", "s3://", "s3:///a"):
        with pytest.raises(tool.SyncError):
            tool.parse_destination(bad)


def test_moto_site_is_reused_from_the_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    site = load("s3-sync", "checks/emulator_site.py")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cached = site.cache_root() / f"moto-{site.MOTO_VERSION}-cp311-{site.platform.machine()}"
    (cached / "moto").mkdir(parents=True)
    (cached / "moto" / "server.py").write_text("")
    monkeypatch.setattr(site.subprocess, "run", lambda *a, **k: pytest.fail("pip must not run when the cache is complete"))
    assert site.moto_site() == cached

# -- l7-load-balancer --------------------------------------------------------------------------


@pytest.fixture
def lb() -> ModuleType:
    return load("l7-load-balancer", "solution/lb.py")


def test_rotation_skips_unhealthy_backends(lb):
    a, b, c = (lb.Backend(name, 9000) for name in "abc")
    pool = lb.Pool([a, b, c], fall=2, rise=2)
    assert [pool.candidates()[0].host for _ in range(6)] == list("abcabc")
    b.healthy = False
    firsts = [pool.candidates()[0].host for _ in range(4)]
    assert set(firsts) == {"a", "c"} and all(x != y for x, y in pairwise(firsts))
    a.healthy = c.healthy = False
    assert pool.candidates() == []


def test_fall_and_rise_need_consecutive_results(lb):
    backend = lb.Backend("a", 9000)
    pool = lb.Pool([backend], fall=2, rise=2)
    for ok, healthy in ((False, True), (True, True), (False, True), (False, False), (True, False), (False, False), (True, False), (True, True)):
        pool.record(backend, ok)
        assert backend.healthy is healthy


def test_backend_urls(lb):
    assert lb.parse_backend("http://app-1:9000") == lb.Backend("app-1", 9000)
    assert lb.parse_backend("app-2:8080") == lb.Backend("app-2", 8080)
    with pytest.raises(argparse.ArgumentTypeError):
        lb.parse_backend("https://app-3:443")
