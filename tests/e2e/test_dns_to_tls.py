"""dns-to-tls end to end on the real engine: verify with every fake fix, each rejected by the condition written for it."""

from __future__ import annotations

import pytest

from harness import catalog
from harness.runtime.docker import DockerRuntime

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.uses("dns-to-tls")]
SCENARIO = "dns-to-tls"


def test_verify_with_every_fake_fix_rejected(rejected_fakes) -> None:
    """healthy passes, broken fails, solution passes, each fake fix fails, teardown leaves nothing."""
    rejected = rejected_fakes(catalog.find(SCENARIO))
    assert "test_client_verifies_certificates" in rejected["curl-insecure"]
    assert "test_served_chain_verifies_to_the_lab_root" in rejected["curl-insecure"]
    assert rejected["hosts-override"] and "test_client_resolves_through_the_resolver" in rejected["hosts-override"]
    assert "test_served_chain_verifies_to_the_lab_root" in rejected["trust-intermediate"]
    assert "test_authoritative_server_points_at_the_load_balancer" in rejected["api-direct"]
    assert DockerRuntime(SCENARIO).leftovers() == []
