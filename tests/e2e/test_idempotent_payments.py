"""idempotent-payments end to end on the real engine: verify with every fake fix rejected by its own check."""

from __future__ import annotations

import pytest

from harness import catalog
from harness.runtime.docker import DockerRuntime

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.uses("idempotent-payments")]
SCENARIO = "idempotent-payments"


def test_verify_with_every_fake_fix_rejected(rejected_fakes) -> None:
    """healthy passes, the release double-charges, the reference passes under the storm and the kill,
    each fake fails on the condition written for it, nothing left."""
    entry = catalog.find(SCENARIO)
    rejected = rejected_fakes(entry)
    assert "test_throughput_holds" in rejected["global-lock"]
    assert "test_both_replicas_serve" in rejected["single-replica"]
    assert "test_no_payment_is_charged_twice" in rejected["in-memory-dedup"]
    assert "test_retries_replay_the_first_answer" in rejected["unique-constraint-500"]
    assert "test_no_payment_is_charged_twice" in rejected["lock-in-transaction"]
    assert DockerRuntime(SCENARIO).leftovers() == []
