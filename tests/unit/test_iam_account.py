"""The aws-iam runtime (harness/runtime/aws_account.py): the account file, and a real dedicated moto with
IAM enforced -- bootstrap, seeding, profiles, teardown."""

from __future__ import annotations

import configparser
import socket
from pathlib import Path

import pytest
import yaml

from harness.errors import BreakfixError
from harness.runtime.aws_account import AccountRuntime, _client, load_account
from harness.runtime.common import port_is_free

ACCOUNT = """
port: {port}
admin: root-on-call
policies:
  read-config:
    Version: "2012-10-17"
    Statement: [{{Effect: Allow, Action: "ssm:GetParameter", Resource: "*"}}]
groups:
  devs: {{policies: [read-config]}}
users:
  dana: {{groups: [devs], access_key: true}}
  ci: {{access_key: true, inline: {{assume: {{Version: "2012-10-17", Statement: [{{Effect: Allow, Action: "sts:AssumeRole", Resource: "*"}}]}}}}}}
roles:
  deploy:
    profile_via: ci
    trust: {{Version: "2012-10-17", Statement: [{{Effect: Allow, Principal: {{AWS: "arn:aws:iam::123456789012:user/ci"}}, Action: "sts:AssumeRole"}}]}}
    inline: {{put: {{Version: "2012-10-17", Statement: [{{Effect: Allow, Action: "s3:PutObject", Resource: "arn:aws:s3:::art/*"}}]}}}}
buckets: [art]
parameters: {{/app/flag: "on"}}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(("text", "problem"), [
    ("admin: a\n", "port"),
    ("port: 80\nadmin: a\n", "port"),
    ("port: 4567\nadmin: a\nusers: {u: {groups: [g], key: true}}\n", "key"),
    ("port: 4567\nadmin: a\n---\nport: 4568\n", "one YAML document"),
])
def test_a_bad_account_file_names_the_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "account.yaml"
    path.write_text(text)
    with pytest.raises(BreakfixError, match=problem):
        load_account(path)


def test_the_account_is_seeded_behind_enforced_iam_and_gone_at_teardown(tmp_path: Path) -> None:
    port = free_port()
    stack = tmp_path / "account.yaml"
    stack.write_text(ACCOUNT.format(port=port))
    assert load_account(stack).users["dana"].groups == ["devs"]
    runtime = AccountRuntime("unit", stack, tmp_path / "home")
    assert runtime.preflight() == []
    try:
        runtime.provision(lambda line: None)
        assert set(runtime.keys()) == {"root-on-call", "dana", "ci"}
        with pytest.raises(Exception, match="InvalidClientTokenId"):  # the bootstrap window is closed
            _client("iam", runtime.url, "test", "test", None).list_users()
        assert {u["UserName"] for u in runtime.client("iam").list_users()["Users"]} == {"root-on-call", "dana", "ci"}
        assert runtime.client("ssm", "dana").get_parameter(Name="/app/flag")["Parameter"]["Value"] == "on"
        with pytest.raises(Exception, match="AccessDenied"):
            runtime.client("iam", "dana").create_user(UserName="mallory")
        runtime.assumed("s3", "deploy", "ci").put_object(Bucket="art", Key="build.zip", Body=b"1")
        with pytest.raises(Exception, match="AccessDenied"):
            runtime.assumed("s3", "deploy", "ci").put_object(Bucket="other", Key="x", Body=b"1")
        config = configparser.ConfigParser()
        config.read(runtime.env()["AWS_CONFIG_FILE"])
        assert config["profile deploy"]["source_profile"] == "ci"
        credentials = configparser.ConfigParser()
        credentials.read(runtime.env()["AWS_SHARED_CREDENTIALS_FILE"])
        assert credentials["dana"]["aws_access_key_id"] == runtime.keys()["dana"]["id"]
        assert runtime.env()["AWS_PROFILE"] == "root-on-call"
    finally:
        runtime.teardown()
    assert port_is_free(port)
    assert not runtime.keys_file.exists()


def test_a_taken_port_is_a_preflight_problem(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        stack = tmp_path / "account.yaml"
        stack.write_text(yaml.safe_dump({"port": holder.getsockname()[1], "admin": "a"}))
        problems = AccountRuntime("unit", stack, tmp_path / "home").preflight()
    assert len(problems) == 1 and "is taken" in problems[0]
