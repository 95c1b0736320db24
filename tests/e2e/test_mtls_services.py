"""mtls-services end to end on the real engine: verify with every fake fix rejected by its own check."""

from __future__ import annotations

import pytest

from harness import catalog
from harness.runtime.docker import DockerRuntime

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.uses("mtls-services")]
SCENARIO = "mtls-services"


def test_verify_with_every_fake_fix_rejected(rejected_fakes) -> None:
    """healthy passes, the rotation breaks the checkout and two certificates, the reference passes,
    each loosening of mTLS fails on the condition written for it, nothing left."""
    entry = catalog.find(SCENARIO)
    rejected = rejected_fakes(entry)
    assert "test_client_without_certificate_is_rejected[payments]" in rejected["verify-client-off"]
    assert rejected["verify-client-optional"] == ["test_client_without_certificate_is_rejected[ledger]", "test_client_without_certificate_is_rejected[payments]"]
    assert "test_certificate_from_another_ca_is_rejected[payments]" in rejected["trust-any-ca"]
    assert "test_payments_certificate_is_valid_for_its_name" in rejected["payments-plaintext"]
    assert rejected["wildcard-admin"] == ["test_only_orders_may_call_payments_admin[ledger]", "test_only_orders_may_call_payments_admin[orders-lookalike]"]
    assert rejected["caller-skips-verification"] == ["test_ledger_certificate_is_valid_for_its_name"]
    assert DockerRuntime(SCENARIO).leftovers() == []
