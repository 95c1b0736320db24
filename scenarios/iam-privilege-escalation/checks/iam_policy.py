"""An in-house reading of the account's IAM policies: what a principal's identity policies allow.

It is the judge where the emulator is silent (see SOLUTION.md, "What moto enforces"): moto matches
a statement's Resource only for S3, sts:AssumeRole and IAM calls naming a role, never evaluates
iam:PassRole nor permissions boundaries. This follows AWS's evaluation of identity policies:
an explicit Deny anywhere wins; otherwise an Allow in an identity policy is needed, and, when a
permissions boundary is attached, an Allow in the boundary too. Action and Resource match with
`*`/`?` wildcards (actions case-insensitively), NotAction and NotResource included,
`${aws:username}` resolved. A Condition cannot be evaluated without a request, so each side gets
its worst case: for an attacker (`worst="attacker"`) a conditional Allow holds and a conditional
Deny does not; for a legitimate caller (`worst="caller"`) the reverse.

The input is `iam get-account-authorization-details` as boto3 returns it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

Worst = Literal["attacker", "caller"]


def _list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _matches(patterns: list[str], value: str, case: bool) -> bool:
    """IAM's wildcards: `*` any run of characters, `?` one; nothing else is special."""
    for pattern in patterns:
        regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
        if re.fullmatch(regex, value, flags=0 if case else re.IGNORECASE):
            return True
    return False


@dataclass
class Principal:
    arn: str
    name: str
    kind: str  # "user" | "role"
    documents: list[tuple[str, dict[str, Any]]]  # (where it comes from, document)
    boundary: dict[str, Any] | None = None
    groups: list[str] = field(default_factory=list)


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def _statement_applies(statement: dict[str, Any], action: str, resource: str, username: str) -> bool:
    if "NotAction" in statement:
        if _matches(_list(statement["NotAction"]), action, case=False):
            return False
    elif not _matches(_list(statement.get("Action")), action, case=False):
        return False
    resolve = lambda patterns: [p.replace("${aws:username}", username) for p in patterns]  # noqa: E731
    if "NotResource" in statement:
        return not _matches(resolve(_list(statement["NotResource"])), resource, case=True)
    return _matches(resolve(_list(statement.get("Resource", "*"))), resource, case=True)


def _decision(documents: list[dict[str, Any]], action: str, resource: str, username: str, worst: Worst) -> str:
    """"deny" (explicit), "allow" or "none" for this set of documents."""
    allowed = False
    for document in documents:
        for statement in _statements(document):
            if not _statement_applies(statement, action, resource, username):
                continue
            conditional = bool(statement.get("Condition"))
            if statement.get("Effect") == "Deny" and not (conditional and worst == "attacker"):
                return "deny"
            if statement.get("Effect") == "Allow" and not (conditional and worst == "caller"):
                allowed = True
    return "allow" if allowed else "none"


def allows(principal: Principal, action: str, resource: str, worst: Worst) -> bool:
    """Whether AWS would let `principal` call `action` on `resource` (identity policies and boundary)."""
    username = principal.name if principal.kind == "user" else ""
    identity = _decision([doc for _, doc in principal.documents], action, resource, username, worst)
    if identity != "allow":
        return False
    if principal.boundary is None:
        return True
    return _decision([principal.boundary], action, resource, username, worst) == "allow"


class Account:
    """The principals of an account's authorization details, with every policy they carry."""

    def __init__(self, details: dict[str, Any]) -> None:
        self.managed = {policy["Arn"]: policy for policy in details.get("Policies", [])}
        groups = {group["GroupName"]: group for group in details.get("GroupDetailList", [])}
        self.principals: dict[str, Principal] = {}
        for user in details.get("UserDetailList", []):
            documents = self._own(user, "UserPolicyList")
            for group_name in user.get("GroupList", []):
                group = groups.get(group_name)
                if group:
                    documents += [(f"group {group_name}: {where}", doc) for where, doc in self._own(group, "GroupPolicyList")]
            self.principals[user["Arn"]] = Principal(
                user["Arn"], user["UserName"], "user", documents, self._boundary(user), list(user.get("GroupList", [])))
        for role in details.get("RoleDetailList", []):
            self.principals[role["Arn"]] = Principal(role["Arn"], role["RoleName"], "role", self._own(role, "RolePolicyList"), self._boundary(role))
        self.roles = {role["Arn"]: role for role in details.get("RoleDetailList", [])}

    def _document(self, arn: str) -> dict[str, Any] | None:
        policy = self.managed.get(arn)
        if policy is None:
            return None
        for version in policy.get("PolicyVersionList", []):
            if version.get("IsDefaultVersion"):
                document = version["Document"]
                return document if isinstance(document, dict) else None
        return None

    def _own(self, item: dict[str, Any], inline_key: str) -> list[tuple[str, dict[str, Any]]]:
        documents = [(f"inline {policy['PolicyName']}", policy["PolicyDocument"]) for policy in item.get(inline_key, [])]
        for attached in item.get("AttachedManagedPolicies", []):
            document = self._document(attached["PolicyArn"])
            if document is not None:
                documents.append((f"managed {attached['PolicyName']}", document))
        return documents

    def _boundary(self, item: dict[str, Any]) -> dict[str, Any] | None:
        arn = (item.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        if not arn:
            return None
        return self._document(arn) or {"Statement": []}  # a boundary that cannot be read allows nothing

    def principal(self, arn: str) -> Principal | None:
        return self.principals.get(arn)

    def trusts(self, role_arn: str, principal_arn: str) -> bool:
        """Whether the role's trust policy lets `principal_arn` assume it (the account root counts as anyone in it)."""
        role = self.roles.get(role_arn)
        if role is None:
            return False
        document = role.get("AssumeRolePolicyDocument") or {}
        account_root = ":".join(principal_arn.split(":")[:5]) + ":root"
        trusted = False
        for statement in _statements(document):
            if not _matches(_list(statement.get("Action")), "sts:AssumeRole", case=False):
                continue
            principal = statement.get("Principal")
            names = ["*"] if principal == "*" else _list((principal or {}).get("AWS")) if isinstance(principal, dict) else []
            hit = any(name in ("*", principal_arn, account_root) for name in names)
            if hit and statement.get("Effect") == "Deny" and not statement.get("Condition"):
                return False
            trusted = trusted or (hit and statement.get("Effect") == "Allow")
        return trusted

    def can_assume(self, principal: Principal, role_arn: str) -> bool:
        return allows(principal, "sts:AssumeRole", role_arn, "attacker") and self.trusts(role_arn, principal.arn)

    def admins(self) -> list[str]:
        """Principals allowed everything an administrator does, on every resource."""
        probes = ["iam:CreateUser", "iam:AttachUserPolicy", "s3:DeleteBucket", "ec2:TerminateInstances", "kms:ScheduleKeyDeletion"]
        return sorted(arn for arn, principal in self.principals.items() if all(allows(principal, action, "*", "attacker") for action in probes))


# -- the team's account, as the checks name it ----------------------------------------------------

ACCOUNT_ID = "123456789012"
ADMIN = f"arn:aws:iam::{ACCOUNT_ID}:user/break-glass-admin"
ALICE = f"arn:aws:iam::{ACCOUNT_ID}:user/alice"
CI_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/ci-deploy"
OPERATOR_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/payments-operator"
BUCKET = "payments-artifacts"
FUNCTION = "payments-api"
DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}


def error_code(error: Exception) -> str:
    """The AWS error code; moto answers some rest-json calls (Lambda, SSM) with an XML error that
    botocore cannot parse, leaving only the HTTP status as the code: the real one is in the body."""
    response = getattr(error, "response", {}).get("Error", {})
    code = str(response.get("Code", type(error).__name__))
    found = re.search(r"<Code>([^<]+)</Code>", str(response.get("Message", ""))) if code.isdigit() else None
    return found.group(1) if found else code


def denied(error: Exception) -> bool:
    return error_code(error) in DENIED


def explain(error: Exception) -> str:
    code = error_code(error)
    if code in DENIED:
        return code
    message = str(getattr(error, "response", {}).get("Error", {}).get("Message", error))
    inner = re.search(r"<Message>([^<]*)</Message>", message)
    message = inner.group(1) if inner else message
    return f"{code}: {message[:160]}"


def function_zip(build: str) -> bytes:
    """A deployable Lambda package (one handler), marked with `build` so each deploy is new code."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", f"# build {build}\ndef handle(event, context):\n    return {{'ok': True}}\n")
    return buffer.getvalue()
