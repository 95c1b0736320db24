"""iam-privilege-escalation end to end on its own IAM-enforcing emulator (127.0.0.1:4567): verify
with every fake fix rejected by its own check, and nothing left running after."""

from __future__ import annotations

import pytest

from harness import catalog
from harness.runtime.common import port_is_free

pytestmark = [pytest.mark.slow, pytest.mark.uses("iam-privilege-escalation")]
SCENARIO = "iam-privilege-escalation"


def test_verify_with_every_fake_fix_rejected(rejected_fakes) -> None:
    """healthy passes, the drift opens the escalation paths, the reference closes them with the pipeline
    still deploying, each fake fails on the condition written for it, the account's emulator is gone."""
    entry = catalog.find(SCENARIO)
    rejected = rejected_fakes(entry)
    assert "test_developers_can_do_their_work" in rejected["delete-developer-group"]
    assert "test_pipeline_deploys" in rejected["delete-ci-role"]
    assert {"test_pipeline_deploys", "test_developers_can_do_their_work"} <= set(rejected["deny-everything"])
    assert rejected["strip-pipeline"] == ["test_pipeline_deploys"]
    boundary = rejected["unattached-boundary"]
    assert "test_cloudsplaining_finds_no_escalation" in boundary
    assert "test_escalation_path_is_closed[developer alice: iam:CreatePolicyVersion]" in boundary
    assert "test_escalation_path_is_closed[CI role ci-deploy: iam:UpdateAssumeRolePolicy]" in boundary
    assert port_is_free(4567), "the account's emulator still listens on 127.0.0.1:4567 after verify"
