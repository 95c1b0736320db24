"""IAM drift: the changes that leave an account with a privilege-escalation path, made for real
through the IAM API of the scenario's account (the `aws-iam` runtime, signed by its admin).

- iam-policy-version: a managed policy gets a new default version (the old one stays, as it does
  when someone "just adds a statement" in the console);
- iam-inline-policy: an inline policy is put on a user, group or role;
- iam-attach-policy: a managed policy is attached to a user, group or role;
- iam-trust-policy: a role's trust (assume-role) policy is replaced.

Each keeps what it replaced, so revert restores the account as it was; a revert after the
account's emulator is gone (stopped, died) has nothing left to undo.
"""

from __future__ import annotations

import json
from typing import Any, Literal, TypeVar

from pydantic import Field, model_validator

from harness.errors import BreakfixError
from harness.faults import Fault, FaultContext, FaultParams, register

Kind = Literal["user", "group", "role"]


class DocumentParams(FaultParams):
    document: dict[str, Any] | None = Field(default=None, description="the policy document, inline")
    source: str | None = Field(default=None, description="or a JSON file in the scenario directory holding it")

    @model_validator(mode="after")
    def _one_document(self) -> DocumentParams:
        if (self.document is None) == (self.source is None):
            raise ValueError("give exactly one of document or source")
        if self.document is not None and "Statement" not in self.document:
            raise ValueError("document: a policy document has a Statement")
        return self

    def text(self, ctx: FaultContext) -> str:
        if self.document is not None:
            return json.dumps(self.document)
        path = ctx.entry_dir / str(self.source)
        try:
            document = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise BreakfixError(f"source {path}: not a readable JSON policy document ({exc})") from None
        return json.dumps(document)


P = TypeVar("P", bound=FaultParams)


class _IamFault(Fault[P]):
    def iam(self, ctx: FaultContext) -> Any:
        return ctx.runtime("aws-iam").client("iam")

    def account_gone(self, ctx: FaultContext) -> bool:
        """Nothing to revert: the account lived in the memory of an emulator that no longer answers."""
        return not ctx.runtime("aws-iam").alive()


def _missing(error: Exception) -> bool:
    code: object = getattr(error, "response", {}).get("Error", {}).get("Code")
    return code == "NoSuchEntity"


class PolicyVersionParams(DocumentParams):
    policy: str = Field(description="the managed policy: a name of the account's, or an ARN")


@register
class PolicyVersion(_IamFault[PolicyVersionParams]):
    kind = "iam-policy-version"

    def arn(self, ctx: FaultContext) -> str:
        from harness.runtime.aws_account import policy_arn

        return policy_arn(self.params.policy)

    def inject(self, ctx: FaultContext) -> None:
        iam, arn, saved = self.iam(ctx), self.arn(ctx), ctx.load(self.key)
        default = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        if saved and saved["version"] == default:
            return
        version = iam.create_policy_version(PolicyArn=arn, PolicyDocument=self.params.text(ctx), SetAsDefault=True)["PolicyVersion"]["VersionId"]
        ctx.save(self.key, {"previous": default, "version": version})

    def revert(self, ctx: FaultContext) -> None:
        saved = ctx.load(self.key)
        if saved and not self.account_gone(ctx):
            iam, arn = self.iam(ctx), self.arn(ctx)
            try:
                versions = {v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]}
                if saved["previous"] in versions:
                    iam.set_default_policy_version(PolicyArn=arn, VersionId=saved["previous"])
                if saved["version"] in versions and saved["version"] != saved["previous"]:
                    iam.delete_policy_version(PolicyArn=arn, VersionId=saved["version"])
            except iam.exceptions.NoSuchEntityException:
                pass  # the policy itself is gone: nothing of ours is left in it
        ctx.forget(self.key)


class PrincipalParams(FaultParams):
    principal: Kind = Field(description="user, group or role")
    name: str = Field(min_length=1, max_length=128, description="the principal's name")


class InlinePolicyParams(PrincipalParams, DocumentParams):
    policy_name: str = Field(min_length=1, max_length=128)


@register
class InlinePolicy(_IamFault[InlinePolicyParams]):
    kind = "iam-inline-policy"

    def _call(self, ctx: FaultContext, verb: str, **extra: str) -> Any:
        kind = self.params.principal.capitalize()
        method = getattr(self.iam(ctx), f"{verb}_{self.params.principal}_policy")
        return method(**{f"{kind}Name": self.params.name, "PolicyName": self.params.policy_name, **extra})

    def inject(self, ctx: FaultContext) -> None:
        text = self.params.text(ctx)
        try:
            previous = json.dumps(self._call(ctx, "get")["PolicyDocument"])
        except Exception as exc:
            if not _missing(exc):
                raise
            previous = None
        if previous is not None and json.loads(previous) == json.loads(text):
            return
        ctx.save(self.key, {"previous": previous})
        self._call(ctx, "put", PolicyDocument=text)

    def revert(self, ctx: FaultContext) -> None:
        saved = ctx.load(self.key)
        if saved and not self.account_gone(ctx):
            try:
                if saved["previous"] is None:
                    self._call(ctx, "delete")
                else:
                    self._call(ctx, "put", PolicyDocument=saved["previous"])
            except Exception as exc:
                if not _missing(exc):
                    raise
        ctx.forget(self.key)


class AttachPolicyParams(PrincipalParams):
    policy: str = Field(description="the managed policy: a name of the account's, or an ARN (arn:aws:iam::aws:policy/...)")


@register
class AttachPolicy(_IamFault[AttachPolicyParams]):
    kind = "iam-attach-policy"

    def _call(self, ctx: FaultContext, verb: str) -> Any:
        from harness.runtime.aws_account import policy_arn

        method = getattr(self.iam(ctx), f"{verb}_{self.params.principal}_policy")
        return method(**{f"{self.params.principal.capitalize()}Name": self.params.name, "PolicyArn": policy_arn(self.params.policy)})

    def attached(self, ctx: FaultContext) -> bool:
        from harness.runtime.aws_account import policy_arn

        method = getattr(self.iam(ctx), f"list_attached_{self.params.principal}_policies")
        listed = method(**{f"{self.params.principal.capitalize()}Name": self.params.name})["AttachedPolicies"]
        return policy_arn(self.params.policy) in {policy["PolicyArn"] for policy in listed}

    def inject(self, ctx: FaultContext) -> None:
        if self.attached(ctx):
            return  # attached already (by us, or by the account itself: then there is nothing to undo)
        self._call(ctx, "attach")
        ctx.save(self.key, {"attached": True})

    def revert(self, ctx: FaultContext) -> None:
        if ctx.load(self.key) and not self.account_gone(ctx):
            try:
                if self.attached(ctx):
                    self._call(ctx, "detach")
            except Exception as exc:
                if not _missing(exc):
                    raise
        ctx.forget(self.key)


class TrustPolicyParams(DocumentParams):
    role: str = Field(min_length=1, max_length=64)


@register
class TrustPolicy(_IamFault[TrustPolicyParams]):
    kind = "iam-trust-policy"

    def current(self, ctx: FaultContext) -> Any:
        document = self.iam(ctx).get_role(RoleName=self.params.role)["Role"]["AssumeRolePolicyDocument"]
        return json.loads(document) if isinstance(document, str) else document

    def inject(self, ctx: FaultContext) -> None:
        text, current = self.params.text(ctx), self.current(ctx)
        if current == json.loads(text):
            return
        ctx.save(self.key, {"previous": current})
        self.iam(ctx).update_assume_role_policy(RoleName=self.params.role, PolicyDocument=text)

    def revert(self, ctx: FaultContext) -> None:
        saved = ctx.load(self.key)
        if saved and not self.account_gone(ctx):
            try:
                self.iam(ctx).update_assume_role_policy(RoleName=self.params.role, PolicyDocument=json.dumps(saved["previous"]))
            except Exception as exc:
                if not _missing(exc):
                    raise
        ctx.forget(self.key)
