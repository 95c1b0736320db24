"""webhook-delivery end to end on the real engine: verify with every fake fix rejected by its own check."""

from __future__ import annotations

import pytest

from harness import catalog
from harness.runtime.docker import DockerRuntime

pytestmark = [pytest.mark.docker, pytest.mark.slow]
SCENARIO = "webhook-delivery"


def test_verify_with_every_fake_fix_rejected(rejected_fakes) -> None:
    """healthy passes, release 3.4 loses events, the reference passes through the outage, the burst and
    the kill, each fake fails on the condition written for it, nothing left."""
    entry = catalog.find(SCENARIO)
    rejected = rejected_fakes(entry)
    assert "test_gone_endpoint_is_dead_lettered" in rejected["synchronous-retry"]
    assert "test_retries_are_spread" in rejected["fixed-interval-retry"]
    assert "test_retries_are_spread" in rejected["exponential-without-jitter"]  # backs off, in step
    assert "test_retries_are_spread" in rejected["jittered-fixed-interval"]  # spread, in no fixed order, but not backing off
    assert "test_every_event_reaches_every_endpoint_that_is_up" in rejected["ack-before-send"]
    assert "test_every_event_reaches_every_endpoint_that_is_up" in rejected["drop-when-down"]
    assert "test_every_event_reaches_every_endpoint_that_is_up" in rejected["unsubscribe-slow"]
    assert DockerRuntime(SCENARIO).leftovers() == []
