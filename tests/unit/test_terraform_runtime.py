"""The Terraform runtime's own logic: backend layout, state parsing, version gate, output digests, runs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from harness import procs
from harness.catalog import find
from harness.errors import BreakfixError
from harness.faults import build
from harness.lifecycle import Lifecycle
from harness.manifest import FaultSpec, TerraformSpec
from harness.runtime import terraform
from harness.runtime.terraform import Backend, Run, parse_state, resource_instances

STATE = {
    "version": 4,
    "serial": 7,
    "lineage": "3f1c",
    "resources": [
        {"mode": "managed", "type": "terraform_data", "name": "vpc", "instances": [{"attributes": {"id": "a"}}]},
        {"mode": "managed", "type": "terraform_data", "name": "svc", "instances": [
            {"index_key": "api", "attributes": {"id": "b"}}, {"index_key": 0, "attributes": {"id": "c"}}]},
        {"module": "module.net", "mode": "managed", "type": "terraform_data", "name": "sub", "instances": [{"attributes": {"id": "d"}}]},
        {"mode": "data", "type": "terraform_remote_state", "name": "x", "instances": [{"attributes": {}}]},
    ],
}


def test_backend_keys_follow_the_s3_backend_layout() -> None:
    backend = Backend("bf-x-tfstate", "shop/platform.tfstate")
    assert backend.state_key("default") == "shop/platform.tfstate"
    assert backend.state_key("prod") == "env:/prod/shop/platform.tfstate"
    assert backend.lock_key("prod") == "env:/prod/shop/platform.tfstate.tflock"
    rendered = backend.render()
    assert 'bucket       = "bf-x-tfstate"' in rendered and "use_lockfile = true" in rendered and "use_path_style" in rendered


def test_parse_state_says_why_a_state_is_unusable() -> None:
    good = json.dumps(STATE).encode()
    assert parse_state(good).data == STATE
    assert parse_state(None).error == "the state object does not exist"
    assert "not valid JSON" in (parse_state(good[: len(good) // 2]).error or "")
    assert "not a Terraform state" in (parse_state(b'{"hello": 1}').error or "")


def test_resource_instances_are_addressed_like_terraform_does() -> None:
    assert resource_instances(STATE) == {
        "terraform_data.vpc": {"id": "a"},
        'terraform_data.svc["api"]': {"id": "b"},
        "terraform_data.svc[0]": {"id": "c"},
        "module.net.terraform_data.sub": {"id": "d"},
    }


def test_version_gate_explains_how_to_install() -> None:
    assert "not installed" in (terraform.version_problem(None) or "") and "install" in (terraform.version_problem(None) or "")
    assert "too old" in (terraform.version_problem((1, 5, 7)) or "")
    assert terraform.version_problem((1, 6, 0)) is None and terraform.version_problem((1, 11, 4)) is None


def test_missing_terraform_fails_preflight_with_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH: no terraform
    lifecycle = Lifecycle(find("terraform-corrupted-state"))
    with pytest.raises(BreakfixError, match="terraform is not installed") as raised:
        lifecycle.preflight()
    assert "developer.hashicorp.com" in str(raised.value)


def completed(code: int, stdout: str = "", stderr: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess([], code, stdout, stderr)


def test_last_error_and_plan_summary_pick_what_a_human_reads() -> None:
    error = completed(1, stderr="╷\n│ Error: Error acquiring the state lock\n│\n│ Lock Info:\n╵\n")
    assert terraform.last_error(error) == "Error: Error acquiring the state lock"
    plan = completed(2, stdout="  # terraform_data.vpc will be created\n  + resource ...\n"
                     "  # terraform_data.db must be replaced\nPlan: 1 to add, 0 to change, 1 to destroy.\n")
    assert terraform.plan_summary(plan) == "Plan: 1 to add, 0 to change, 1 to destroy.; terraform_data.vpc will be created; terraform_data.db must be replaced"


def test_a_run_records_exit_code_and_its_process_group_dies_together(tmp_path: Path) -> None:
    run = Run(tmp_path / "runs" / "ci")
    run.directory.mkdir(parents=True)
    run.exit_file.write_text("3")  # what the wrapper shell writes when terraform exits on its own
    assert run.exit_code() == 3 and not run.alive()

    sleeper = Run(tmp_path / "runs" / "colleague")
    sleeper.directory.mkdir(parents=True)
    process = subprocess.Popen(["bash", "-c", "sleep 60 & sleep 60; wait"], start_new_session=True)
    (sleeper.directory / "pid").write_text(f"{process.pid} {procs.start_time(process.pid)}")
    assert sleeper.alive() and sleeper.exit_code() is None
    sleeper.kill()
    assert not sleeper.alive() and procs.group_members(process.pid) == []


def test_a_run_whose_pid_was_reused_is_not_alive(tmp_path: Path) -> None:
    run = Run(tmp_path / "reused")
    run.directory.mkdir()
    (run.directory / "pid").write_text("1 0")  # pid 1 exists, but started at another time
    assert not run.alive()


def test_terraform_spec_defaults_and_validation() -> None:
    assert TerraformSpec().workspaces == ["default"]
    with pytest.raises(ValueError):
        TerraformSpec(state_key="../escape.json")
    with pytest.raises(ValueError):
        TerraformSpec(workspaces=[])


@pytest.mark.parametrize(
    ("kind", "params", "problem"),
    [
        ("terraform-killed-apply", {"run": "ci", "workspace": "prod"}, "until"),
        ("terraform-running-apply", {"run": "Bad Name", "workspace": "s", "until": "a.b"}, "run"),
        ("terraform-running-apply", {"run": "c", "workspace": "s", "until": "a.b", "timeout": 0}, "timeout"),
        ("terraform-state-corrupt", {"workspace": "prod", "keep": 1.5}, "keep"),
        ("terraform-state-corrupt", {"workspace": "prod", "writes": 0}, "writes"),
    ],
)
def test_fault_params_are_validated(kind: str, params: dict, problem: str) -> None:
    with pytest.raises(BreakfixError, match=problem):
        build(FaultSpec(kind=kind, params=params), 0)


def test_the_scenarios_declare_their_terraform_workspaces() -> None:
    stale = find("terraform-stale-lock").manifest
    assert stale.terraform.workspaces == ["prod", "staging"]
    lifecycle = Lifecycle(find("terraform-stale-lock"))
    assert [runtime.name for runtime in lifecycle.runtimes()] == ["aws", "terraform"]
    runtime = lifecycle.terraform_runtime()
    assert runtime.backend.bucket == "bf-terraform-stale-lock-tfstate"
    assert runtime.stack_dir == lifecycle.workspace / "stack" / "terraform"
