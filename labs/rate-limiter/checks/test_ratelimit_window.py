"""Limits, Retry-After and the rolling window, tested at exact times of the grader's clock."""

import json


def test_admits_exactly_the_limit(api):
    """A key gets exactly N requests through; the next one is 429 and never reaches the API"""
    key, start = api.new_key("limit"), api.new_epoch()
    api.set_clock(start)
    api.admit(key, api.limit)
    reply = api.get(key)
    assert reply.status == 429, f"request {api.limit + 1} of key {key} within one window: expected 429, got {reply.describe()}"
    reached = api.hits(key)
    assert reached == api.limit, f"{api.limit} requests were admitted but the API received {reached}: rejected requests must not reach the app"


def test_admitted_responses_are_the_apps(api):
    """Admitted requests are passed to the app unchanged (its status and body come back)"""
    key, start = api.new_key("passthrough"), api.new_epoch()
    api.set_clock(start)
    reply = api.get(key, "/v1/charges/ch_42")
    assert reply.status == 200 and f'"key": "{key}"' in reply.body and "/v1/charges/ch_42" in reply.body, (
        f"GET /v1/charges/ch_42 should return the app's own 200 JSON naming the key and path, got {reply.describe()}"
    )


def test_429_carries_retry_after(api):
    """A 429 says when to come back: Retry-After = whole seconds until the oldest counted request expires"""
    key, start = api.new_key("retry"), api.new_epoch()
    api.admit_spread(key, start)  # admitted at +0, +10, +20, +30, +40
    # 45.75 s: 14.25 s left, which ceil makes 15 (round or int would say 14); 59.5 s: 0.5 s left, at least 1
    for offset, expected in ((45, 15), (45.75, 15), (52.2, 8), (59.5, 1)):
        api.set_clock(start + offset)
        reply = api.get(key)
        assert reply.status == 429, f"{api.limit} requests at +0..+40 s, one more at +{offset} s: expected 429, got {reply.describe()}"
        assert reply.headers.get("retry-after") == str(expected), (
            f"{api.limit} requests at +0..+40 s, one more at +{offset} s: expected Retry-After: {expected} "
            f"(ceil of the seconds until the +0 s request stops counting at +{api.window} s), got {reply.headers.get('retry-after', 'no Retry-After header')}"
        )
        assert reply.headers.get("content-type", "").split(";")[0].strip().lower() == "application/json", (
            f"a 429 should be JSON, got Content-Type {reply.headers.get('content-type')!r}"
        )
        try:
            body = json.loads(reply.body)
        except ValueError:
            body = None
        assert body == {"error": "rate limit exceeded"}, f'a 429\'s body should be {{"error": "rate limit exceeded"}}, got {reply.body[:120]!r}'



def test_window_rolls_at_its_exact_edge(api):
    """The window is (t-60, t]: a request stops counting at exactly +60 s, not before, not after"""
    key, start = api.new_key("edge"), api.new_epoch()
    api.admit_spread(key, start)  # admitted at +0, +10, +20, +30, +40
    checks = [
        (59.999, 429, "the +0 s request still counts"),
        (60, 200, "the +0 s request stopped counting at exactly +60 s"),
        (60, 429, "+10..+40 s and +60 s fill the window again"),
        (69.999, 429, "the +10 s request still counts"),
        (70, 200, "the +10 s request stopped counting at exactly +70 s"),
    ]
    for offset, expected, why in checks:
        api.set_clock(start + offset)
        reply = api.get(key)
        assert reply.status == expected, (
            f"admitted at +0, +10, +20, +30, +40 s (limit {api.limit}/{api.window} s); at +{offset} s expected {expected} "
            f"({why}), got {reply.describe()}"
        )


def test_no_burst_across_a_minute_boundary(api):
    """The window rolls: N requests just before a minute boundary and N just after are not all admitted"""
    key, start = api.new_key("boundary"), api.new_epoch()  # start is 37 s past a whole minute
    api.set_clock(start + 22)  # one second before the minute turns
    api.admit(key, api.limit)
    api.set_clock(start + 24)
    reply = api.get(key)
    assert reply.status == 429, (
        f"{api.limit} requests admitted 2 s earlier (just before a minute boundary): a rolling {api.window} s window "
        f"must reject the next one, got {reply.describe()}"
    )


def test_rejected_requests_do_not_count(api):
    """Requests refused with 429 do not count: hammering while blocked does not extend the block"""
    key, start = api.new_key("hammer"), api.new_epoch()
    api.set_clock(start)
    api.admit(key, api.limit)
    api.set_clock(start + 30)
    hammered = [api.get(key).status for _ in range(20)]
    assert hammered == [429] * 20, f"{api.limit} admitted at +0 s, 20 more at +30 s: expected 20x429, got {hammered}"
    api.set_clock(start + api.window)
    reply = api.get(key)
    assert reply.status == 200, (
        f"{api.limit} admitted at +0 s and 20 rejected at +30 s; at +{api.window} s expected 200 "
        f"(only admitted requests count), got {reply.describe()}"
    )


def test_keys_are_isolated(api):
    """One key's traffic never limits another key"""
    blocked, other, start = api.new_key("noisy"), api.new_key("quiet"), api.new_epoch()
    api.set_clock(start)
    api.admit(blocked, api.limit)
    assert api.get(blocked).status == 429, f"key {blocked} should be limited after {api.limit} requests"
    for number in range(1, api.limit + 1):
        reply = api.get(other)
        assert reply.status == 200, (
            f"key {blocked} is at its limit; key {other} has sent {number - 1} requests: expected 200, got {reply.describe()}"
        )
    assert api.get(blocked).status == 429, f"key {blocked} should still be limited"


def test_missing_api_key_is_401(api):
    """A request without an API key (absent, empty or blank header) gets 401 and never reaches the app"""
    api.set_clock(api.new_epoch())
    for label, key in (("no X-API-Key header", None), ("an empty X-API-Key", ""), ("a blank X-API-Key", "   ")):
        reply = api.get(key)
        assert reply.status == 401, f"a request with {label}: expected 401, got {reply.describe()}"
        try:
            body = json.loads(reply.body)
        except ValueError:
            body = None
        assert body == {"error": "missing API key"}, (
            f'a request with {label}: expected the JSON body {{"error": "missing API key"}}, got {reply.body[:120]!r}'
        )
        assert reply.headers.get("content-type", "").split(";")[0].strip().lower() == "application/json", (
            f"a request with {label}: the 401 should say Content-Type: application/json, got {reply.headers.get('content-type')!r}"
        )
    assert api.hits("") == 0, "requests without an API key reached the app"


def test_key_is_trimmed(api):
    """Surrounding whitespace is not part of the key"""
    key, start = api.new_key("trim"), api.new_epoch()
    api.set_clock(start)
    api.admit(key, api.limit - 1)
    assert api.get(f"  {key} ").status == 200, f"'  {key} ' is key {key}: its {api.limit}th request should be admitted"
    reply = api.get(f"{key}\t")
    assert reply.status == 429, f"'{key}\\t' is key {key}, already at its limit: expected 429, got {reply.describe()}"
