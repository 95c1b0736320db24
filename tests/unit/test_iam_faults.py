"""IAM drift fault kinds (harness/faults/iam.py): parameters, and inject/revert against a real moto IAM
(in-process, no enforcement: the faults sign as the account's admin either way)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from harness.errors import BreakfixError
from harness.faults import FaultContext, build
from harness.manifest import FaultSpec
from harness.runtime.aws_account import _client

ACCOUNT = "123456789012"
READ = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
ESCALATE = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/ci"}, "Action": "sts:AssumeRole"}]}


class Account:
    """What the faults ask of the aws-iam runtime: an admin IAM client and whether the emulator answers."""

    name = "aws-iam"

    def __init__(self, url: str) -> None:
        self.url, self.up = url, True

    def client(self, service: str) -> Any:
        return _client(service, self.url, "admin", "admin", None)

    def alive(self) -> bool:
        return self.up


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def ctx(moto_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> FaultContext:
    account = Account(moto_url)
    iam = account.client("iam")
    name = request.node.name.replace("[", "-").replace("]", "")[:40]
    iam.create_policy(PolicyName=f"{name}-dev", PolicyDocument=json.dumps(READ))
    iam.create_group(GroupName=f"{name}-devs")
    iam.create_role(RoleName=f"{name}-deploy", AssumeRolePolicyDocument=json.dumps(TRUST))
    (tmp_path / "entry").mkdir()
    (tmp_path / "entry" / "v2.json").write_text(json.dumps(ESCALATE))
    context = FaultContext(instance="t", entry_dir=tmp_path / "entry", state_dir=tmp_path / "state", runtimes=[account])  # type: ignore[list-item]
    context.name = name  # type: ignore[attr-defined]
    return context


def fault(kind: str, params: dict[str, Any]) -> Any:
    return build(FaultSpec(kind=kind, params=params), 0)


@pytest.mark.parametrize(("kind", "params", "problem"), [
    ("iam-policy-version", {"policy": "p"}, "exactly one of document or source"),
    ("iam-policy-version", {"policy": "p", "source": "a.json", "document": READ}, "exactly one of document or source"),
    ("iam-policy-version", {"policy": "p", "document": {"Version": "2012-10-17"}}, "a policy document has a Statement"),
    ("iam-inline-policy", {"principal": "computer", "name": "x", "policy_name": "y", "document": READ}, "principal"),
    ("iam-attach-policy", {"principal": "user", "name": "x"}, "policy"),
    ("iam-trust-policy", {"role": "r", "document": TRUST, "extra": 1}, "extra"),
])
def test_bad_parameters_are_refused_at_load_time(kind: str, params: dict[str, Any], problem: str) -> None:
    with pytest.raises(BreakfixError, match=problem):
        fault(kind, params)


def test_a_source_that_is_not_a_policy_document_is_a_clear_error(ctx: FaultContext) -> None:
    (ctx.entry_dir / "bad.json").write_text("{not json")
    with pytest.raises(BreakfixError, match="not a readable JSON policy document"):
        fault("iam-policy-version", {"policy": f"{ctx.name}-dev", "source": "bad.json"}).inject(ctx)  # type: ignore[attr-defined]


def test_policy_version_becomes_default_and_revert_restores_v1(ctx: FaultContext) -> None:
    iam, arn = ctx.runtime("aws-iam").client("iam"), f"arn:aws:iam::{ACCOUNT}:policy/{ctx.name}-dev"  # type: ignore[attr-defined]
    drift = fault("iam-policy-version", {"policy": f"{ctx.name}-dev", "source": "v2.json"})  # type: ignore[attr-defined]
    drift.inject(ctx)
    drift.inject(ctx)  # idempotent: no third version
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in sorted(versions, key=lambda v: v["VersionId"])] == [("v1", False), ("v2", True)]
    assert iam.get_policy_version(PolicyArn=arn, VersionId="v2")["PolicyVersion"]["Document"] == ESCALATE
    drift.revert(ctx)
    drift.revert(ctx)
    assert [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]] == ["v1"]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v1"


def test_inline_policy_is_put_and_revert_deletes_it_or_restores_the_one_it_replaced(ctx: FaultContext) -> None:
    iam, group = ctx.runtime("aws-iam").client("iam"), f"{ctx.name}-devs"  # type: ignore[attr-defined]
    drift = fault("iam-inline-policy", {"principal": "group", "name": group, "policy_name": "debug", "document": ESCALATE})
    drift.inject(ctx)
    assert iam.get_group_policy(GroupName=group, PolicyName="debug")["PolicyDocument"] == ESCALATE
    drift.revert(ctx)
    assert iam.list_group_policies(GroupName=group)["PolicyNames"] == []
    iam.put_group_policy(GroupName=group, PolicyName="debug", PolicyDocument=json.dumps(READ))
    drift.inject(ctx)
    drift.revert(ctx)
    assert iam.get_group_policy(GroupName=group, PolicyName="debug")["PolicyDocument"] == READ


def test_attach_policy_is_detached_by_revert_unless_it_was_attached_before(ctx: FaultContext) -> None:
    iam, role = ctx.runtime("aws-iam").client("iam"), f"{ctx.name}-deploy"  # type: ignore[attr-defined]
    arn = f"arn:aws:iam::{ACCOUNT}:policy/{ctx.name}-dev"  # type: ignore[attr-defined]
    drift = fault("iam-attach-policy", {"principal": "role", "name": role, "policy": f"{ctx.name}-dev"})  # type: ignore[attr-defined]
    drift.inject(ctx)
    assert [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]] == [arn]
    drift.revert(ctx)
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    drift.inject(ctx)  # already attached: the account's own, not the fault's to undo
    drift.revert(ctx)
    assert [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]] == [arn]


def test_trust_policy_is_replaced_and_restored(ctx: FaultContext) -> None:
    iam, role = ctx.runtime("aws-iam").client("iam"), f"{ctx.name}-deploy"  # type: ignore[attr-defined]
    wide = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
    drift = fault("iam-trust-policy", {"role": role, "document": wide})
    drift.inject(ctx)
    drift.inject(ctx)
    assert iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"] == wide
    drift.revert(ctx)
    assert iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"] == TRUST


def test_revert_after_the_account_is_gone_has_nothing_to_undo(ctx: FaultContext) -> None:
    wide = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
    drift = fault("iam-trust-policy", {"role": f"{ctx.name}-deploy", "document": wide})  # type: ignore[attr-defined]
    drift.inject(ctx)
    ctx.runtime("aws-iam").up = False
    drift.revert(ctx)  # no call to the emulator: it would fail
    assert ctx.load(drift.key) is None


def test_a_document_must_be_a_mapping() -> None:
    from harness.faults.iam import TrustPolicyParams

    with pytest.raises(ValidationError):
        TrustPolicyParams.model_validate({"role": "r", "document": ["not", "a", "mapping"]})
