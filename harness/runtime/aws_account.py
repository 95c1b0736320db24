"""AWS account runtime (`requires: [aws-iam]`): an AWS account of the scenario's own, with IAM enforced.

The shared emulator on 127.0.0.1:4566 accepts any credentials (the Terraform scenarios and the
s3-sync lab sign with dummy ones), so IAM cannot be enforced there. This runtime starts a
dedicated moto server on the port the stack names, with `INITIAL_NO_AUTH_ACTION_COUNT` set so
that only the bootstrap goes unauthenticated: the first three requests create the break-glass
admin, its access key and attach AdministratorAccess; from then on every request must be signed
by an access key of a user of the account (or an assumed role's session) and is authorised
against that principal's identity policies. What moto evaluates, and what it does not, is in
`scenarios/iam-privilege-escalation/SOLUTION.md`.

The stack is an account file (YAML, `Account` below): managed policies, groups, users, roles,
buckets, SSM parameters and Lambda functions, seeded at provision with the admin's credentials.
Every user with `access_key: true` gets one, kept in the instance's directory (never the
learner's workspace) together with an AWS CLI config naming a profile per user and per role, so
the learner can act as anyone in the account and the checks can sign as the principal they try.
"""

from __future__ import annotations

import functools
import io
import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from harness.errors import BreakfixError
from harness.manifest import load_yaml_documents
from harness.runtime import Progress
from harness.runtime.aws import REGION, Emulator, tools_path
from harness.runtime.common import port_is_free
from harness.validation import problems

if TYPE_CHECKING:
    from harness.registry import Finding, Setup, StackCheck
    from harness.settle import Readiness

ACCOUNT_ID = "123456789012"  # moto's default account
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
BOOTSTRAP_ACTIONS = 3  # CreateUser, CreateAccessKey, AttachUserPolicy of the admin: then IAM is enforced
Document = dict[str, Any]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Principal(_Model):
    policies: list[str] = Field(default_factory=list, description="managed policies: a name of the account's, or an ARN")
    inline: dict[str, Document] = Field(default_factory=dict, description="inline policies by name")


class User(Principal):
    groups: list[str] = Field(default_factory=list)
    access_key: bool = Field(default=False, description="give the user an access key (a profile of its name)")


class Role(Principal):
    trust: Document = Field(description="the assume-role policy document")
    profile_via: str | None = Field(default=None, description="a user whose profile assumes this role (an AWS CLI profile of the role's name)")


class Function(_Model):
    role: str = Field(description="the execution role's name")
    runtime: str = "python3.11"
    handler: str = "handler.handle"


class Account(_Model):
    """The stack of an aws-iam scenario: the account as the team's infrastructure code leaves it."""

    port: int = Field(ge=1024, le=65535, description="127.0.0.1 port of the account's own emulator")
    admin: str = Field(description="the break-glass admin user: AdministratorAccess, the learner's default profile")
    policies: dict[str, Document] = Field(default_factory=dict, description="customer managed policies by name")
    groups: dict[str, Principal] = Field(default_factory=dict)
    users: dict[str, User] = Field(default_factory=dict)
    roles: dict[str, Role] = Field(default_factory=dict)
    buckets: list[str] = Field(default_factory=list)
    parameters: dict[str, str] = Field(default_factory=dict, description="SSM String parameters by name")
    functions: dict[str, Function] = Field(default_factory=dict)


def load_account(path: Path) -> Account:
    try:
        documents = load_yaml_documents(path)
    except OSError as exc:
        raise BreakfixError(f"{path}: cannot read the account file: {exc.strerror}") from None
    if len(documents) != 1:
        raise BreakfixError(f"{path}: an account file is one YAML document")
    from pydantic import ValidationError

    try:
        return Account.model_validate(documents[0])
    except ValidationError as exc:
        raise BreakfixError(f"{path}: {problems(exc)}") from None


def policy_arn(name: str) -> str:
    return name if name.startswith("arn:") else f"arn:aws:iam::{ACCOUNT_ID}:policy/{name}"


def function_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return {'ok': True}\n")
    return buffer.getvalue()


class AccountRuntime:
    """One instance's account: its own emulator on `Account.port`, stopped (and so emptied) at teardown."""

    name = "aws-iam"

    def __init__(self, instance: str, stack_file: Path, home: Path, installed: Path | None = None) -> None:
        self.instance = instance
        # the learner's copy once the workspace exists; before that (a teardown first) the entry's own
        self.stack_file = stack_file if stack_file.exists() or installed is None else installed
        self.home = home
        self.account = load_account(self.stack_file)
        environment = {"INITIAL_NO_AUTH_ACTION_COUNT": str(BOOTSTRAP_ACTIONS), "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
        self.emulator = Emulator(home / "emulator", port=self.account.port, environment=environment)

    @property
    def url(self) -> str:
        return self.emulator.url

    @property
    def keys_file(self) -> Path:
        return self.home / "keys.json"

    def preflight(self) -> list[str]:
        if self.emulator.pid() is None and not port_is_free(self.account.port):
            return [f"port {self.account.port} on 127.0.0.1 is taken: the account's emulator needs it (`ss -ltnp 'sport = :{self.account.port}'`)"]
        return []

    # -- credentials --------------------------------------------------------------------------------

    def keys(self) -> dict[str, dict[str, str]]:
        """user -> {"id", "secret"}: the access keys made at provision."""
        try:
            return dict(json.loads(self.keys_file.read_text()))
        except (OSError, ValueError):
            raise BreakfixError(f"the account of {self.instance} is not provisioned (no {self.keys_file}): `breakfix reset`") from None

    def client(self, service: str, user: str | None = None) -> Any:
        """A boto3 client signed by `user`'s access key (default: the break-glass admin)."""
        key = self.keys()[user or self.account.admin]
        return _client(service, self.url, key["id"], key["secret"], None)

    def assumed(self, service: str, role: str, user: str) -> Any:
        """A client of `role`'s session, assumed with `user`'s key: what the role's CLI profile does."""
        credentials = self.client("sts", user).assume_role(RoleArn=self.role_arn(role), RoleSessionName=f"{user}-session")["Credentials"]
        return _client(service, self.url, credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"])

    @staticmethod
    def role_arn(role: str) -> str:
        return f"arn:aws:iam::{ACCOUNT_ID}:role/{role}"

    # -- lifecycle ----------------------------------------------------------------------------------

    def provision(self, progress: Progress) -> None:
        self.teardown()  # a previous emulator of this instance holds stale keys: start from an empty account
        self.emulator.start(progress)
        progress(f"seeding the account from {self.stack_file.name}")
        self.seed()

    def seed(self) -> None:
        """The account file's API calls against whatever emulator answers at `url` (ours, or one started by hand)."""
        self._bootstrap()
        self._create_resources()
        self._write_profiles()

    def _bootstrap(self) -> None:
        """The only unauthenticated requests: moto counts them, and enforces IAM from the next one on."""
        iam = _client("iam", self.url, "bootstrap", "bootstrap", None)
        admin = self.account.admin
        iam.create_user(UserName=admin)
        key = iam.create_access_key(UserName=admin)["AccessKey"]
        iam.attach_user_policy(UserName=admin, PolicyArn=ADMIN_POLICY)
        self.home.mkdir(parents=True, exist_ok=True)
        self.keys_file.write_text(json.dumps({admin: {"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}}))
        self.keys_file.chmod(0o600)

    def _create_resources(self) -> None:
        account, iam = self.account, self.client("iam")
        for name, document in account.policies.items():
            iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(document))
        kinds: list[tuple[str, dict[str, Any]]] = [("Group", dict(account.groups)), ("User", dict(account.users)), ("Role", dict(account.roles))]
        for kind, principals in kinds:
            for name, spec in principals.items():
                if kind == "Role":
                    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(spec.trust))
                else:
                    getattr(iam, f"create_{kind.lower()}")(**{f"{kind}Name": name})
                for policy in spec.policies:
                    getattr(iam, f"attach_{kind.lower()}_policy")(**{f"{kind}Name": name, "PolicyArn": policy_arn(policy)})
                for policy, document in spec.inline.items():
                    getattr(iam, f"put_{kind.lower()}_policy")(**{f"{kind}Name": name, "PolicyName": policy, "PolicyDocument": json.dumps(document)})
        keys = self.keys()
        for name, user in account.users.items():
            for group in user.groups:
                iam.add_user_to_group(GroupName=group, UserName=name)
            if user.access_key:
                key = iam.create_access_key(UserName=name)["AccessKey"]
                keys[name] = {"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}
        self.keys_file.write_text(json.dumps(keys))
        s3, ssm, functions = self.client("s3"), self.client("ssm"), self.client("lambda")
        for bucket in account.buckets:
            s3.create_bucket(Bucket=bucket)
        for parameter, value in account.parameters.items():
            ssm.put_parameter(Name=parameter, Value=value, Type="String")
        for name, function in account.functions.items():
            functions.create_function(
                FunctionName=name, Runtime=function.runtime, Role=self.role_arn(function.role), Handler=function.handler, Code={"ZipFile": function_zip()},
            )

    def _write_profiles(self) -> None:
        """An AWS CLI credentials file (a profile per user with a key) and config (a profile per role)."""
        credentials = [f"[{user}]\naws_access_key_id = {key['id']}\naws_secret_access_key = {key['secret']}\n" for user, key in self.keys().items()]
        (self.home / "credentials").write_text("\n".join(credentials))
        config = [f"[profile {user}]\nregion = {REGION}\n" for user in self.keys()]
        config += [
            f"[profile {name}]\nrole_arn = {self.role_arn(name)}\nsource_profile = {role.profile_via}\nregion = {REGION}\n"
            for name, role in self.account.roles.items() if role.profile_via
        ]
        (self.home / "config").write_text("\n".join(config))

    def alive(self) -> bool:
        return self.emulator.answers()

    def settle(self) -> list[Readiness]:
        from harness.settle import Readiness

        return [Readiness("the account's AWS emulator to answer", lambda: None if self.alive() else f"nothing answers at {self.url}", timeout=5)]

    def teardown(self) -> None:
        """Stopping the emulator is the cleanup: the account lived in its memory only."""
        self.emulator.stop()
        self.keys_file.unlink(missing_ok=True)
        if self.emulator.pid() is None and not port_is_free(self.account.port) and self.emulator.answers():
            raise BreakfixError(f"an AWS emulator still answers on 127.0.0.1:{self.account.port} after teardown: stop it by hand")

    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_SHARED_CREDENTIALS_FILE": str(self.home / "credentials"),
            "AWS_CONFIG_FILE": str(self.home / "config"),
            "AWS_PROFILE": self.account.admin,
            **tools_path(),
        }


@functools.cache  # a client loads botocore's service model: ~0.1 s each
def _client(service: str, url: str, key: str, secret: str, token: str | None) -> Any:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token, region_name=REGION)
    return session.client(service, endpoint_url=url, config=Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 1}))


def check_stack(check: StackCheck) -> None:
    """An aws-iam scenario's stack is an account file (`Account`)."""
    if check.stack.suffix not in (".yaml", ".yml"):
        raise BreakfixError(f"{check.manifest_file}: stack: {check.manifest.stack!r}: an AWS account stack is a YAML account file (e.g. stack/account.yaml)")
    check.inside("stack", check.stack)
    load_account(check.stack)


def findings() -> list[Finding]:
    import importlib.util

    from harness.registry import Finding

    missing = [package for package in ("boto3", "moto", "flask") if importlib.util.find_spec(package) is None]
    detail = f"missing python packages: {', '.join(missing)} (pip install 'moto[server]')" if missing else "moto starts a dedicated emulator per scenario"
    return [Finding("aws-iam", "moto with IAM enforcement", not missing, detail)]


def from_setup(setup: Setup) -> AccountRuntime:
    from harness.manifest import ScenarioManifest

    assert isinstance(setup.manifest, ScenarioManifest), "only a scenario has an account stack"
    stack = setup.manifest.stack
    return AccountRuntime(setup.instance, setup.workspace / stack, setup.workspace.parent / "aws-account", setup.directory / stack)
