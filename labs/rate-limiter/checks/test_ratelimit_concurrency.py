"""Exact limits while many clients hit a multi-threaded server at the same instant."""

from collections import Counter

CLIENTS = 24


def _odd_one(results):
    """The first answer that is neither 200 nor 429, for the message."""
    return next((f"; e.g. {reply.describe()}" for _, reply in results if reply.status not in (200, 429)), "")


def test_one_key_burst_is_exact(api):
    """60 simultaneous requests of one key from 24 clients: exactly N are admitted"""
    key = api.new_key("burst")
    api.set_clock(api.new_epoch())
    results = api.burst([key] * 60, CLIENTS)
    statuses = Counter(reply.status for _, reply in results)
    assert len(results) == 60, f"only {len(results)} of 60 concurrent requests got an answer ({dict(statuses)})"
    assert statuses[200] == api.limit and statuses[429] == 60 - api.limit, (
        f"60 concurrent requests of one key, limit {api.limit}: expected {api.limit}x200 and {60 - api.limit}x429, got {dict(statuses)}{_odd_one(results)}"
    )
    assert api.hits(key) == api.limit, f"the app received {api.hits(key)} requests of {key}, expected {api.limit}"


def test_many_keys_burst_is_exact_per_key(api):
    """8 keys x 15 requests interleaved from 24 clients: exactly N admitted for every key"""
    keys = [api.new_key(f"crowd{n}") for n in range(8)]
    api.set_clock(api.new_epoch())
    results = api.burst([key for _ in range(15) for key in keys], CLIENTS)
    admitted = Counter(key for key, reply in results if reply.status == 200)
    other = Counter(reply.status for _, reply in results if reply.status not in (200, 429))
    assert not other, f"unexpected answers under concurrency: {dict(other)}{_odd_one(results)}"
    wrong = {key: admitted[key] for key in keys if admitted[key] != api.limit}
    assert not wrong, f"15 concurrent requests per key, limit {api.limit}: admitted per key {wrong} (expected {api.limit} each)"


def test_exact_when_threads_switch_inside_the_middleware(inprocess):
    """40 threads released together, switching inside the middleware, 15 rounds: exactly N admitted every time"""
    problem = inprocess.problem("race")
    assert problem is None, problem


def test_idle_keys_are_forgotten(inprocess):
    """Memory does not grow with keys that stopped sending (40 windows of 1,000 new keys each)"""
    problem = inprocess.problem("idle_keys")
    assert problem is None, problem
