"""distributed-rate-limit end to end on the real engine: one verify --fakes (each fake rejected by its own check)."""

from __future__ import annotations

import pytest

from harness import catalog
from harness.runtime.docker import DockerRuntime

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.uses("distributed-rate-limit")]
SCENARIO = "distributed-rate-limit"


def test_verify_with_every_fake_fix_rejected(rejected_fakes) -> None:
    """healthy (Redis limiter) passes, per-replica memory fails, the reference passes, each fake fails, nothing left."""
    entry = catalog.find(SCENARIO)
    rejected = rejected_fakes(entry)
    assert "test_limit_holds_when_balancing_is_uneven" in rejected["divide-by-three"]
    assert {"test_nginx_spreads_traffic_over_every_replica", "test_limit_holds_when_balancing_is_uneven"} <= set(rejected["one-replica"])
    assert "test_limit_holds_when_balancing_is_uneven" in rejected["get-then-set"]
    assert "test_redis_outage_fails_open" in rejected["fail-closed"]
    assert "test_redis_forgets_keys_that_stopped_sending" in rejected["no-expiry"]
    assert DockerRuntime(SCENARIO).leftovers() == []
