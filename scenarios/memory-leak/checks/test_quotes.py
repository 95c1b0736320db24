"""The service still answers correctly and the quote cache still does its job."""

import json
import zlib
from urllib.parse import parse_qs, urlsplit

HIT_RATIO_BOUND = 0.5  # 70% of the load repeats 64 popular pairs: a working cache hits about 0.69


def expected_unit_cents(customer: str, sku: str) -> int:
    base = 500 + zlib.crc32(sku.encode()) % 20000
    return base * (100 - 5 * (zlib.crc32(customer.encode()) % 4)) // 100


def test_every_quote_succeeds(probe):
    """Every quote request succeeds under load"""
    load = probe.load
    failed = load.server_errors()
    assert not failed, f"{len(failed)} of {len(load.responses)} quote requests failed ({load.histogram()})"
    assert len(load.responses) == load.planned, f"only {len(load.responses)} of {load.planned} requests completed ({load.histogram()})"


def test_quotes_are_correct(probe):
    """Every quote has the right price for its customer, SKU and quantity"""
    for response in probe.load.responses:
        if response.status != 200:
            continue
        query = {name: values[0] for name, values in parse_qs(urlsplit(response.path).query).items()}
        try:
            body = json.loads(response.body)
            unit, total = body["unit_cents"], body["total_cents"]
        except (ValueError, KeyError, TypeError):
            raise AssertionError(f"{response.path} returned 200 but not a quote: {response.body[:80]!r}") from None
        expected = expected_unit_cents(query["customer"], query["sku"])
        assert (body["customer"], body["sku"]) == (query["customer"], query["sku"]), f"{response.path} answered for {body['customer']}/{body['sku']}"
        assert unit == expected and total == expected * int(query["qty"]), (
            f"{response.path}: quoted {unit} x {query['qty']} = {total} cents, expected {expected} x {query['qty']}"
        )


def test_quote_cache_still_works(probe):
    """The quote cache still serves repeat lookups (hit ratio above 0.5)"""
    ok = [response for response in probe.load.responses if response.status == 200]
    assert ok, "no successful quote to measure the cache on"
    hits = sum(1 for response in ok if response.headers.get("x-cache") == "HIT")
    ratio = hits / len(ok)
    assert ratio > HIT_RATIO_BOUND, (
        f"only {ratio:.0%} of {len(ok)} quotes came from the cache (X-Cache: HIT), expected over {HIT_RATIO_BOUND:.0%}: "
        "70% of the traffic repeats popular (customer, sku) pairs"
    )
