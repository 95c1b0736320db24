"""The pipeline and the developers keep doing their jobs, with their own credentials.

Each action is the real call on the emulator. moto matches a statement's Resource only for S3
(and roles); for Lambda and SSM it asks for `*`, so a policy scoped to the function or the
parameter, as it should be, is refused there though AWS allows it. And with IAM enforced, moto
5.2.5 fails the signature check of Lambda's GET and DELETE calls (GetFunction, ListFunctions,
DeleteFunction) whoever signs them. Such a refusal is therefore read against the principal's
policies (iam_policy.py): it fails only when they do not allow the action on that resource either.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from iam_policy import ACCOUNT_ID, ALICE, BUCKET, CI_ROLE, FUNCTION, Account, allows, denied, error_code, explain, function_zip

FUNCTION_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:{FUNCTION}"


def parameter_arn(name: str) -> str:
    return f"arn:aws:ssm:us-east-1:{ACCOUNT_ID}:parameter{name}"


def run(steps: list[tuple[str, str, str, Callable[[], Any]]], principal_arn: str, analysis: Callable[[], Account]) -> list[str]:
    """(what, action, resource, call) each: the failures, judged as the module says."""
    failures = []
    for what, action, resource, call in steps:
        try:
            call()
        except Exception as exc:
            principal = analysis().principal(principal_arn)
            scoped = not action.startswith(("s3:", "sts:"))  # what moto cannot match to its resource
            unjudged = denied(exc) or error_code(exc) == "SignatureDoesNotMatch"
            if unjudged and scoped and principal and allows(principal, action, resource, "caller"):
                continue
            failures.append(f"{what}: {explain(exc)}")
    return failures


def test_pipeline_deploys(account: Any, analysis: Callable[[], Account]) -> None:
    """The CI pipeline still deploys: assumes ci-deploy, publishes its artifact, updates payments-api, reads its parameter"""
    try:
        s3, functions, ssm = (account.assumed(service, "ci-deploy", "ci-runner") for service in ("s3", "lambda", "ssm"))
    except Exception as exc:
        raise AssertionError(f"the CI runner (user ci-runner) cannot assume the deploy role ci-deploy: {explain(exc)}") from None
    key = f"releases/payments-api-{uuid.uuid4().hex[:8]}.zip"
    zipped = function_zip(key)
    failures = run([
        (f"put s3://{BUCKET}/{key}", "s3:PutObject", f"arn:aws:s3:::{BUCKET}/{key}", lambda: s3.put_object(Bucket=BUCKET, Key=key, Body=zipped)),
        ("update the code of payments-api", "lambda:UpdateFunctionCode", FUNCTION_ARN,
         lambda: functions.update_function_code(FunctionName=FUNCTION, ZipFile=zipped)),
        ("read /payments/ci/deploy-target", "ssm:GetParameter", parameter_arn("/payments/ci/deploy-target"),
         lambda: ssm.get_parameter(Name="/payments/ci/deploy-target")),
    ], CI_ROLE, analysis)
    assert not failures, "the pipeline (as ci-deploy) cannot " + "; ".join(failures)


def test_developers_can_do_their_work(account: Any, analysis: Callable[[], Account]) -> None:
    """Developers still read the artifacts, inspect payments-api and read their config"""
    iam = account.client("iam")
    groups = [group["GroupName"] for group in iam.list_groups_for_user(UserName="alice")["Groups"]]
    assert "developers" in groups, f"alice is no longer in the developers group (her groups: {', '.join(groups) or 'none'})"
    s3, functions, ssm = (account.client(service, "alice") for service in ("s3", "lambda", "ssm"))
    failures = run([
        (f"list s3://{BUCKET}", "s3:ListBucket", f"arn:aws:s3:::{BUCKET}", lambda: s3.list_objects_v2(Bucket=BUCKET)),
        ("get payments-api", "lambda:GetFunction", FUNCTION_ARN, lambda: functions.get_function(FunctionName=FUNCTION)),
        ("read /payments/dev/feature-flags", "ssm:GetParameter", parameter_arn("/payments/dev/feature-flags"),
         lambda: ssm.get_parameter(Name="/payments/dev/feature-flags")),
    ], ALICE, analysis)
    assert not failures, "developer alice cannot " + "; ".join(failures)
