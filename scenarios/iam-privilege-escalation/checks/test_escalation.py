"""Each known escalation path, tried for real with the developer's and the CI role's own credentials.

Two judges per path. The emulator enforces IAM: the attempt is the real API call, signed as the
principal; one that succeeds is undone at once (by the admin) and fails the check. Where moto
does not evaluate what AWS would (iam:PassRole, a Resource other than a role or a bucket, a
permissions boundary: SOLUTION.md), the principal's policies as IAM reports them are read with
AWS's evaluation logic (iam_policy.py); a path they allow fails the check too.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from iam_policy import ACCOUNT_ID, ALICE, CI_ROLE, OPERATOR_ROLE, Account, Principal, allows, denied, explain, function_zip

EVERYTHING = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"


@dataclass(frozen=True)
class Actor:
    label: str
    arn: str  # the principal whose policies grant (the role, not its session)
    kind: str  # "user" | "role"
    client: Callable[[Any, str], Any]  # (account, service) -> a client signed as this principal

    @property
    def name(self) -> str:
        return self.arn.rsplit("/", 1)[-1]

    def session_arn(self) -> str:
        return f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{self.name}/ci-runner-session" if self.kind == "role" else self.arn


DEVELOPER = Actor("developer alice", ALICE, "user", lambda account, service: account.client(service, "alice"))
CI = Actor("CI role ci-deploy", CI_ROLE, "role", lambda account, service: account.assumed(service, "ci-deploy", "ci-runner"))


def own_policies(account: Any, actor: Actor) -> list[str]:
    """The customer managed policies that reach the actor: the ones rewriting would make it anything."""
    iam = account.client("iam")
    arns = []
    if actor.kind == "user":
        for group in iam.list_groups_for_user(UserName=actor.name)["Groups"]:
            arns += [p["PolicyArn"] for p in iam.list_attached_group_policies(GroupName=group["GroupName"])["AttachedPolicies"]]
        arns += [p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=actor.name)["AttachedPolicies"]]
    else:
        arns += [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=actor.name)["AttachedPolicies"]]
    return [arn for arn in dict.fromkeys(arns) if f":{ACCOUNT_ID}:policy/" in arn] or [f"arn:aws:iam::{ACCOUNT_ID}:policy/developer-access"]


# -- the real attempts: each returns what it did when it succeeded (after undoing it), else None ----


def create_policy_version(account: Any, actor: Actor) -> str | None:
    iam, admin = actor.client(account, "iam"), account.client("iam")
    for arn in own_policies(account, actor):
        previous = admin.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        version = iam.create_policy_version(PolicyArn=arn, PolicyDocument=EVERYTHING, SetAsDefault=True)["PolicyVersion"]["VersionId"]
        admin.set_default_policy_version(PolicyArn=arn, VersionId=previous)
        admin.delete_policy_version(PolicyArn=arn, VersionId=version)
        return f"made Allow *:* the default version of {arn}"
    return None


def attach_admin_policy(account: Any, actor: Actor) -> str | None:
    iam, admin = actor.client(account, "iam"), account.client("iam")
    verb = "user" if actor.kind == "user" else "role"
    getattr(iam, f"attach_{verb}_policy")(**{f"{verb.capitalize()}Name": actor.name, "PolicyArn": ADMIN_POLICY})
    getattr(admin, f"detach_{verb}_policy")(**{f"{verb.capitalize()}Name": actor.name, "PolicyArn": ADMIN_POLICY})
    return f"attached AdministratorAccess to itself ({verb} {actor.name})"


def put_inline_policy(account: Any, actor: Actor) -> str | None:
    iam, admin = actor.client(account, "iam"), account.client("iam")
    verb, name = ("user" if actor.kind == "user" else "role"), f"escalate-{uuid.uuid4().hex[:6]}"
    getattr(iam, f"put_{verb}_policy")(**{f"{verb.capitalize()}Name": actor.name, "PolicyName": name, "PolicyDocument": EVERYTHING})
    getattr(admin, f"delete_{verb}_policy")(**{f"{verb.capitalize()}Name": actor.name, "PolicyName": name})
    return f"put an inline Allow *:* on itself ({verb} {actor.name})"


def assume_deploy_role(account: Any, actor: Actor) -> str | None:
    actor.client(account, "sts").assume_role(RoleArn=CI_ROLE, RoleSessionName="escalation-check")
    return "assumed the CI deploy role ci-deploy"


def pass_role_to_lambda(account: Any, actor: Actor) -> str | None:
    name = f"preview-{uuid.uuid4().hex[:8]}"
    actor.client(account, "lambda").create_function(
        FunctionName=name, Runtime="python3.11", Role=CI_ROLE, Handler="handler.handle", Code={"ZipFile": function_zip(name)})
    with contextlib.suppress(Exception):  # moto fails the signature of every DeleteFunction when IAM is enforced
        account.client("lambda").delete_function(FunctionName=name)
    return f"created the Lambda function {name} running as ci-deploy (lambda:CreateFunction; moto does not check iam:PassRole)"


def rewrite_operator_trust(account: Any, actor: Actor) -> str | None:
    iam, admin = actor.client(account, "iam"), account.client("iam")
    previous = admin.get_role(RoleName="payments-operator")["Role"]["AssumeRolePolicyDocument"]
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": actor.session_arn()}, "Action": "sts:AssumeRole"}]}
    iam.update_assume_role_policy(RoleName="payments-operator", PolicyDocument=json.dumps(trust))
    admin.update_assume_role_policy(RoleName="payments-operator", PolicyDocument=previous if isinstance(previous, str) else json.dumps(previous))
    return "rewrote the trust of payments-operator to let itself in"


# -- what the policies say, for the same path ----------------------------------------------------


def _policy_arns(account: Account, principal: Principal) -> list[str]:
    return [arn for arn in account.managed if f":{ACCOUNT_ID}:policy/" in arn]


def analysed(path: str, account: Account, principal: Principal) -> str | None:
    """Which statement-level permission opens the path, per AWS's evaluation; None when closed."""
    verb = "User" if principal.kind == "user" else "Role"
    if path == "iam:CreatePolicyVersion":
        hits = [arn for arn in _policy_arns(account, principal) if allows(principal, "iam:CreatePolicyVersion", arn, "attacker")]
        return f"its policies allow iam:CreatePolicyVersion on {', '.join(hits)}" if hits else None
    if path == f"iam:Attach{verb}Policy":
        return f"its policies allow iam:Attach{verb}Policy on itself" if allows(principal, path, principal.arn, "attacker") else None
    if path == f"iam:Put{verb}Policy":
        return f"its policies allow iam:Put{verb}Policy on itself" if allows(principal, path, principal.arn, "attacker") else None
    if path == "sts:AssumeRole":
        return "its policies allow sts:AssumeRole on ci-deploy, and ci-deploy's trust lets it in" if account.can_assume(principal, CI_ROLE) else None
    if path == "iam:PassRole":
        function = f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:preview"
        if allows(principal, "iam:PassRole", CI_ROLE, "attacker") and allows(principal, "lambda:CreateFunction", function, "attacker"):
            return "its policies allow iam:PassRole on ci-deploy with lambda:CreateFunction"
        return None
    if path == "iam:UpdateAssumeRolePolicy":
        ok = allows(principal, path, OPERATOR_ROLE, "attacker")
        return "its policies allow iam:UpdateAssumeRolePolicy on payments-operator" if ok else None
    raise AssertionError(f"unknown path {path}")


PATHS = [
    (DEVELOPER, "iam:CreatePolicyVersion", create_policy_version),
    (DEVELOPER, "iam:AttachUserPolicy", attach_admin_policy),
    (DEVELOPER, "iam:PutUserPolicy", put_inline_policy),
    (DEVELOPER, "sts:AssumeRole", assume_deploy_role),
    (DEVELOPER, "iam:PassRole", pass_role_to_lambda),
    (DEVELOPER, "iam:UpdateAssumeRolePolicy", rewrite_operator_trust),
    (CI, "iam:CreatePolicyVersion", create_policy_version),
    (CI, "iam:AttachRolePolicy", attach_admin_policy),
    (CI, "iam:PutRolePolicy", put_inline_policy),
    (CI, "iam:UpdateAssumeRolePolicy", rewrite_operator_trust),
]


@pytest.mark.parametrize(("actor", "path", "attempt"), [pytest.param(*p, id=f"{p[0].label}: {p[1]}") for p in PATHS])
def test_escalation_path_is_closed(account: Any, analysis: Callable[[], Account], actor: Actor, path: str, attempt: Callable[..., str | None]) -> None:
    """No escalation path is open to the developer or the CI role"""
    try:
        done = attempt(account, actor)
        outcome = None
    except Exception as exc:  # the answer of the API is the judgement: denied, or failed for another reason
        done, outcome = None, explain(exc)
        if not denied(exc) and "AssumeRole" in str(exc) and actor.kind == "role":
            outcome = f"the CI role could not be assumed ({outcome})"
    snapshot = analysis()
    principal = snapshot.principal(actor.arn)
    why = analysed(path, snapshot, principal) if principal else None
    if done and principal and principal.boundary is not None and why is None:
        done = None  # moto ignores permissions boundaries; the one attached here stops the path
    assert done is None, f"{actor.label} escalated for real with its own credentials: {done} (the check undid what it could)"
    assert why is None, f"{actor.label} can escalate through {path}: {why} (the emulator answered {outcome or 'success'})"
