"""Who is an administrator, by two judges: the in-house reading of the policies, and Cloudsplaining."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from iam_policy import ADMIN, OPERATOR_ROLE, Account, explain

# payments-operator is on-call's role (lambda:*, s3:*, ssm:* on the payments resources): only the
# break-glass admin may assume it, which test_break_glass_admin_is_the_only_admin holds, so the
# escalation Cloudsplaining rightly sees in its policy is not one a developer or the CI can take.
EXCLUDED_ROLES = ["payments-operator"]


def test_break_glass_admin_is_the_only_admin(account: Any, analysis: Callable[[], Account]) -> None:
    """The break-glass admin still works, and nobody else is an administrator (or can become the operator role)"""
    try:
        account.client("iam").list_users()
    except Exception as exc:
        raise AssertionError(f"the break-glass admin's access key no longer works: {explain(exc)}") from None
    snapshot = analysis()
    assert ADMIN in snapshot.principals, "the break-glass admin user is gone"
    admins = snapshot.admins()
    assert ADMIN in admins, "the break-glass admin is no longer an administrator (AdministratorAccess detached, or denied)"
    others = [arn.rsplit(":", 1)[-1] for arn in admins if arn != ADMIN]
    assert not others, f"besides the break-glass admin, these are administrators too: {', '.join(others)}"
    assuming = [p.arn.rsplit(":", 1)[-1] for p in snapshot.principals.values() if p.arn != ADMIN and snapshot.can_assume(p, OPERATOR_ROLE)]
    assert not assuming, f"payments-operator can be assumed by {', '.join(assuming)}, not only by the break-glass admin"


def test_cloudsplaining_finds_no_escalation(details: Callable[[], dict[str, Any]]) -> None:
    """Cloudsplaining finds no privilege escalation in any policy of a principal but the break-glass admin"""
    from cloudsplaining.scan.authorization_details import AuthorizationDetails
    from cloudsplaining.shared.exclusions import Exclusions

    snapshot = details()
    # no default exclusions: they skip AdministratorAccess wherever it is attached
    exclusions = Exclusions({"policies": [""], "roles": EXCLUDED_ROLES, "users": ["break-glass-admin"], "groups": [""]})
    results = AuthorizationDetails(snapshot, exclusions).results
    findings = []
    for section in ("inline_policies", "customer_managed_policies", "aws_managed_policies"):
        for policy in results.get(section, {}).values():
            escalation = (policy.get("PrivilegeEscalation") or {}).get("findings") or []
            if not escalation:
                continue
            attached = policy.get("AttachedTo", {})
            holders = [f"{kind[:-1]} {name}" for kind in ("users", "groups", "roles") for name in attached.get(kind, [])
                       if not (kind == "users" and name == "break-glass-admin") and not (kind == "roles" and name in EXCLUDED_ROLES)]
            if holders:
                kinds = sorted({finding["type"] for finding in escalation})
                findings.append(f"{policy.get('PolicyName')} ({', '.join(holders)}): {', '.join(kinds)}")
    assert not findings, "Cloudsplaining finds privilege escalation in " + "; ".join(findings)
