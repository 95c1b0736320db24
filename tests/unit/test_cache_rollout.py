"""cache-rollout's own code (the ConfigMap the storefront and the members run), without a cluster.

What the scenario's arithmetic rests on: every product has two copies on distinct members, the
members' warm-up loads exactly the copies the storefront reads, and losing any one member leaves
a copy of every product on the others. The Redis replies are parsed from real RESP bytes.
"""

from __future__ import annotations

import importlib.util
import io
import sys
import types
from collections import Counter
from pathlib import Path

import pytest
import yaml

from harness.paths import content_root
from tests import content_modules

CODE = content_root() / "scenarios" / "cache-rollout" / "stack" / "manifests" / "00-cache-code.yaml"


@pytest.fixture(scope="module")
def cachelib(tmp_path_factory: pytest.TempPathFactory) -> types.ModuleType:
    files = yaml.safe_load(CODE.read_text())["data"]
    folder = tmp_path_factory.mktemp("cache-code")
    for name, text in files.items():
        (folder / name).write_text(text)
    spec = importlib.util.spec_from_file_location("cachelib", folder / "cachelib.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["cachelib"] = module  # warm.py and storefront.py import it by that name
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("cachelib", None)


def test_every_product_has_two_copies_on_distinct_members(cachelib: types.ModuleType) -> None:
    assert cachelib.MEMBERS == ["cache-0", "cache-1", "cache-2"] and cachelib.COPIES == 2
    for product in range(cachelib.HOT_PRODUCTS):
        order = cachelib.order(cachelib.key_of(product))
        assert sorted(order) == cachelib.MEMBERS  # every member, once: a key always has somewhere to go


def test_the_ring_spreads_owners_and_any_one_member_down_leaves_a_copy_of_everything(cachelib: types.ModuleType) -> None:
    owners = Counter(cachelib.order(cachelib.key_of(p))[0] for p in range(cachelib.HOT_PRODUCTS))
    assert min(owners.values()) >= 0.2 * cachelib.HOT_PRODUCTS, owners  # no member is idle, none holds most keys
    for down in cachelib.MEMBERS:
        for product in range(cachelib.HOT_PRODUCTS):
            copies = cachelib.order(cachelib.key_of(product))[: cachelib.COPIES]
            assert [m for m in copies if m != down], f"product {product} has no copy left without {down}"


def test_redis_replies_are_parsed_from_resp_bytes(cachelib: types.ModuleType) -> None:
    parse = cachelib._reply
    assert parse(io.BytesIO(b"+OK\r\n")) == "OK"
    assert parse(io.BytesIO(b"$5\r\nhello\r\n")) == "hello"
    assert parse(io.BytesIO(b"$-1\r\n")) is None
    assert parse(io.BytesIO(b":42\r\n")) == 42
    with pytest.raises(cachelib.RedisError, match="LOADING"):
        parse(io.BytesIO(b"-LOADING Redis is loading the dataset in memory\r\n"))
    for cut in (b"", b"$5\r\nhel", b"+OK"):
        with pytest.raises(ConnectionError):
            parse(io.BytesIO(cut))


def test_the_catalog_record_is_what_the_checks_expect(cachelib: types.ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    monkeypatch.setattr(cachelib, "CATALOG_LATENCY", 0.0)
    checks = content_modules.load("scenarios/cache-rollout/checks/conftest.py")
    for product in (0, 1, 899):
        assert json.loads(cachelib.catalog_read(product)) == checks.product_record(product)


def test_the_warm_up_loads_exactly_the_copies_the_storefront_reads(cachelib: types.ModuleType) -> None:
    spec = importlib.util.spec_from_file_location("warm", Path(cachelib.__file__).with_name("warm.py"))
    assert spec and spec.loader
    warm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(warm)
    shares = {member: set(warm.share_of(member)) for member in cachelib.MEMBERS}
    for product in range(cachelib.HOT_PRODUCTS):
        holders = {member for member, share in shares.items() if product in share}
        assert holders == set(cachelib.order(cachelib.key_of(product))[: cachelib.COPIES]), product
