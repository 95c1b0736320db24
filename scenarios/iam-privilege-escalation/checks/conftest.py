"""What the checks share: the account (its runtime: clients signed as any of its principals), its
authorization details as IAM reports them now, and the names of the team's principals."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# Grading imports checks with --import-mode=importlib: nothing puts this folder on sys.path, so the
# shared module is loaded by path once, under the name the check files import it by.
_spec = importlib.util.spec_from_file_location("iam_policy", Path(__file__).with_name("iam_policy.py"))
assert _spec and _spec.loader
iam_policy = sys.modules["iam_policy"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(iam_policy)


@pytest.fixture(scope="session")
def account(instance: Any) -> Any:
    """The instance's aws-iam runtime: .client(service, user), .assumed(service, role, user)."""
    return instance.runtime("aws-iam")


def fetch_details(account: Any) -> dict[str, Any]:
    """`iam get-account-authorization-details`, signed by the admin: the account's own principals and
    policies, plus the AWS managed policies attached to any of them (not the 1,500 others)."""
    iam = account.client("iam")
    details: dict[str, Any] = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}
    for page in iam.get_paginator("get_account_authorization_details").paginate(Filter=["User", "Group", "Role", "LocalManagedPolicy"]):
        for key in details:
            details[key] += page.get(key, [])
    attached = {
        policy["PolicyArn"]
        for item in details["UserDetailList"] + details["GroupDetailList"] + details["RoleDetailList"]
        for policy in item.get("AttachedManagedPolicies", [])
    }
    attached |= {
        item["PermissionsBoundary"]["PermissionsBoundaryArn"]
        for item in details["UserDetailList"] + details["RoleDetailList"] if item.get("PermissionsBoundary")
    }
    local = {policy["Arn"] for policy in details["Policies"]}
    for arn in sorted(attached - local):
        try:
            policy = iam.get_policy(PolicyArn=arn)["Policy"]
        except iam.exceptions.NoSuchEntityException:
            continue
        version = iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])["PolicyVersion"]
        details["Policies"].append({**policy, "PolicyVersionList": [{**version, "IsDefaultVersion": True}]})
    for policy in details["Policies"]:  # moto leaves out PolicyName and PolicyId, which AWS always sends
        policy.setdefault("PolicyName", policy["Arn"].rsplit("/", 1)[-1])
        policy.setdefault("PolicyId", "ANPA" + policy["PolicyName"].upper().replace("-", "")[:17])
    return details


@pytest.fixture
def details(account: Any) -> Callable[[], dict[str, Any]]:
    return lambda: fetch_details(account)


@pytest.fixture
def analysis(details: Callable[[], dict[str, Any]]) -> Callable[[], Any]:
    return lambda: iam_policy.Account(details())
