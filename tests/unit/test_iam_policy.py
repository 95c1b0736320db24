"""The in-house reading of IAM policies that iam-privilege-escalation's checks judge with (its
checks/iam_policy.py): AWS's evaluation of identity policies, where moto is silent."""

from __future__ import annotations

from typing import Any

import pytest

from tests import content_modules

policy = content_modules.load("scenarios/iam-privilege-escalation/checks/iam_policy.py")

ACCOUNT = "123456789012"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/deploy"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def alice(*documents: dict[str, Any], boundary: dict[str, Any] | None = None) -> Any:
    return policy.Principal(ALICE, "alice", "user", [(f"p{i}", d) for i, d in enumerate(documents)], boundary)


@pytest.mark.parametrize(("pattern", "action", "expected"), [
    ("iam:*", "iam:CreatePolicyVersion", True),
    ("IAM:createpolicyversion", "iam:CreatePolicyVersion", True),  # actions are case-insensitive
    ("iam:Create*", "iam:AttachUserPolicy", False),
    ("iam:?etUser", "iam:GetUser", True),
    ("*", "s3:PutObject", True),
    ("iam:[abc]*", "iam:a", False),  # no character classes in IAM: [ is a plain character
])
def test_actions_match_with_iam_wildcards_only(pattern: str, action: str, expected: bool) -> None:
    assert policy.allows(alice(doc(allow(pattern))), action, "*", "attacker") is expected


def test_a_scoped_resource_allows_that_resource_only_and_resources_are_case_sensitive() -> None:
    principal = alice(doc(allow("lambda:UpdateFunctionCode", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:payments-*")))
    assert policy.allows(principal, "lambda:UpdateFunctionCode", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:payments-api", "caller")
    assert not policy.allows(principal, "lambda:UpdateFunctionCode", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:Payments-api", "caller")
    assert not policy.allows(principal, "lambda:UpdateFunctionCode", "*", "caller")


def test_an_explicit_deny_anywhere_wins() -> None:
    principal = alice(doc(allow("*")), doc(deny("iam:*")))
    assert not policy.allows(principal, "iam:PutUserPolicy", ALICE, "attacker")
    assert policy.allows(principal, "s3:GetObject", "arn:aws:s3:::b/k", "attacker")


def test_not_action_and_not_resource() -> None:
    principal = alice(doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}))
    assert not policy.allows(principal, "iam:CreateUser", "*", "attacker")
    assert policy.allows(principal, "s3:DeleteBucket", "*", "attacker")
    principal = alice(doc({"Effect": "Allow", "Action": "iam:*", "NotResource": f"arn:aws:iam::{ACCOUNT}:user/admin*"}))
    assert policy.allows(principal, "iam:PutUserPolicy", ALICE, "attacker")
    assert not policy.allows(principal, "iam:PutUserPolicy", f"arn:aws:iam::{ACCOUNT}:user/admin", "attacker")


def test_username_variable_resolves_to_the_user() -> None:
    principal = alice(doc(allow("iam:CreateAccessKey", f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}")))
    assert policy.allows(principal, "iam:CreateAccessKey", ALICE, "attacker")
    assert not policy.allows(principal, "iam:CreateAccessKey", f"arn:aws:iam::{ACCOUNT}:user/bob", "attacker")


def test_a_boundary_limits_what_the_identity_policies_allow() -> None:
    boundary = doc(allow(["s3:*", "lambda:*"]))
    assert not policy.allows(alice(doc(allow("*")), boundary=boundary), "iam:AttachUserPolicy", ALICE, "attacker")
    assert policy.allows(alice(doc(allow("*")), boundary=boundary), "s3:PutObject", "*", "caller")
    assert not policy.allows(alice(doc(allow("iam:GetUser")), boundary=boundary), "s3:PutObject", "*", "caller")  # the boundary grants nothing itself


def test_a_condition_is_read_as_each_side_worst_case() -> None:
    conditional_allow = alice(doc(allow("iam:PutUserPolicy", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})))
    assert policy.allows(conditional_allow, "iam:PutUserPolicy", ALICE, "attacker")
    assert not policy.allows(conditional_allow, "iam:PutUserPolicy", ALICE, "caller")
    conditional_deny = alice(doc(allow("*"), deny("s3:*", Condition={"StringNotEquals": {"aws:SourceVpc": "vpc-1"}})))
    assert policy.allows(conditional_deny, "s3:PutObject", "*", "attacker")
    assert not policy.allows(conditional_deny, "s3:PutObject", "*", "caller")


def details(trust: dict[str, Any], alice_policies: list[dict[str, Any]], group_policy: dict[str, Any] | None = None) -> dict[str, Any]:
    managed = [{"Arn": f"arn:aws:iam::{ACCOUNT}:policy/dev", "PolicyName": "dev",
                "PolicyVersionList": [{"Document": doc(deny("iam:Delete*")), "VersionId": "v1", "IsDefaultVersion": False},
                                      {"Document": group_policy or doc(), "VersionId": "v2", "IsDefaultVersion": True}]}]
    return {
        "UserDetailList": [
            {"UserName": "alice", "Arn": ALICE, "GroupList": ["developers"],
             "UserPolicyList": [{"PolicyName": f"p{i}", "PolicyDocument": d} for i, d in enumerate(alice_policies)]},
            {"UserName": "root-like", "Arn": f"arn:aws:iam::{ACCOUNT}:user/root-like", "UserPolicyList": [{"PolicyName": "all", "PolicyDocument": doc(allow("*"))}]},
        ],
        "GroupDetailList": [{"GroupName": "developers", "AttachedManagedPolicies": [{"PolicyName": "dev", "PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/dev"}]}],
        "RoleDetailList": [{"RoleName": "deploy", "Arn": ROLE, "AssumeRolePolicyDocument": trust}],
        "Policies": managed,
    }


def test_group_policies_count_through_their_default_version_only() -> None:
    account = policy.Account(details(doc(), [], group_policy=doc(allow("iam:CreatePolicyVersion"))))
    alice_ = account.principal(ALICE)
    assert policy.allows(alice_, "iam:CreatePolicyVersion", "*", "attacker")
    assert policy.allows(alice_, "iam:DeleteUser", "*", "attacker") is False  # no Allow for it (v1's Deny is not the default)
    assert [where for where, _ in alice_.documents] == ["group developers: managed dev"]


@pytest.mark.parametrize(("principal", "expected"), [
    ({"AWS": ALICE}, True),
    ({"AWS": [f"arn:aws:iam::{ACCOUNT}:user/ci", ALICE]}, True),
    ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, True),  # the account: anyone in it its policies let assume
    ("*", True),
    ({"AWS": f"arn:aws:iam::{ACCOUNT}:user/ci"}, False),
    ({"Service": "lambda.amazonaws.com"}, False),
])
def test_assuming_a_role_needs_the_trust_and_the_permission(principal: Any, expected: bool) -> None:
    trust = doc({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"})
    account = policy.Account(details(trust, [doc(allow("sts:AssumeRole"))]))
    assert account.can_assume(account.principal(ALICE), ROLE) is expected
    without_permission = policy.Account(details(trust, []))
    assert without_permission.can_assume(without_permission.principal(ALICE), ROLE) is False


def test_admins_are_those_allowed_everything() -> None:
    account = policy.Account(details(doc(), [doc(allow(["iam:*", "s3:*"]))]))
    assert account.admins() == [f"arn:aws:iam::{ACCOUNT}:user/root-like"]


class _Error(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.response = {"Error": {"Code": code, "Message": message}}


def test_error_codes_moto_hides_in_an_xml_body_are_read_from_it() -> None:
    xml = "<ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code><Message>bad signature</Message></Error></Errors></ErrorResponse>"
    assert policy.error_code(_Error("403", xml)) == "SignatureDoesNotMatch"
    assert not policy.denied(_Error("403", xml))
    assert policy.explain(_Error("403", xml)) == "SignatureDoesNotMatch: bad signature"
    assert policy.denied(_Error("403", xml.replace("SignatureDoesNotMatch", "AccessDeniedException")))
    assert policy.denied(_Error("AccessDenied", "User alice is not authorized"))
    assert not policy.denied(_Error("NoSuchEntity", "no such policy"))
