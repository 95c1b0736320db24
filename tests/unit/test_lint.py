"""`breakfix lint`: every shipped entry is clean, and each rule names the file and field of a broken copy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness import catalog, cli, lint
from harness.output import ExitCode
from harness.paths import content_root


def shipped() -> list[Path]:
    return [directory for root in catalog.roots() if root.is_dir() for directory in sorted(root.iterdir())
            if directory.is_dir() and not directory.name.startswith((".", "_"))]


@pytest.mark.parametrize("directory", shipped(), ids=lambda directory: directory.name)
def test_every_shipped_entry_lints_clean(directory: Path) -> None:
    assert [str(problem) for problem in lint.lint(directory)] == []


@pytest.fixture()
def storm(tmp_path: Path) -> Path:
    return Path(shutil.copytree(content_root() / "scenarios" / "502-storm", tmp_path / "scenarios" / "502-storm"))


@pytest.fixture()
def lab(tmp_path: Path) -> Path:
    return Path(shutil.copytree(content_root() / "labs" / "kv-ttl", tmp_path / "labs" / "kv-ttl"))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def lines(directory: Path) -> list[str]:
    return [str(problem) for problem in lint.lint(directory)]


def only(directory: Path, *fragments: str) -> str:
    found = lines(directory)
    assert len(found) == 1, found
    for fragment in fragments:
        assert fragment in found[0]
    return found[0]


def test_schema(storm: Path) -> None:
    edit(storm / "scenario.yaml", "difficulty: medium", "difficulty: brutal")
    only(storm, f"{storm}/scenario.yaml", "difficulty")


def test_referenced_file(storm: Path) -> None:
    (storm / "fakes" / "static-200.sh").unlink()
    only(storm, f"{storm}/scenario.yaml", "fakes/static-200.sh (fake_fixes[2].script)")


def test_fault_kind(storm: Path) -> None:
    edit(storm / "scenario.yaml", "kind: file-drift", "kind: file-drfit")
    only(storm, "faults[0].kind: unknown fault 'file-drfit'")


def test_fault_parameters(storm: Path) -> None:
    edit(storm / "scenario.yaml", "      reload:", "      relaod:")
    only(storm, "faults[0] (file-drift).params", "relaod")


def test_confirm_names_a_check(storm: Path) -> None:
    edit(storm / "scenario.yaml", "failing: [test_no_server_errors_under_load]", "failing: [test_no_such_check]")
    only(storm, "confirm.failing: no check named test_no_such_check")


def test_every_check_has_a_docstring(storm: Path) -> None:
    edit(storm / "checks" / "test_topology.py", '    """nginx accepts its configuration (nginx -t)"""\n', "")
    only(storm, f"{storm}/checks/test_topology.py:", "test_lb_config_is_valid: no docstring")


def test_at_least_one_fake(lab: Path) -> None:
    manifest = lab / "lab.yaml"
    manifest.write_text(manifest.read_text().split("fake_fixes:")[0])
    only(lab, f"{lab}/lab.yaml", "fake_fixes: none")


def test_hints_present(lab: Path) -> None:
    edit(lab / "lab.yaml", "hints: [hints/01.md, hints/02.md, hints/03.md]\n", "")
    shutil.rmtree(lab / "hints")
    only(lab, "no hints")


def test_ports_on_loopback_only(storm: Path) -> None:
    edit(storm / "stack" / "compose.yaml", '"127.0.0.1:8080:80"', '"8080:80"')
    only(storm, "stack", "127.0.0.1")


def test_private_key(storm: Path) -> None:
    (storm / "stack" / "app" / "tls.key").write_text("-----BEGIN RSA PRIVATE KEY-----\nMIIEow...\n-----END RSA PRIVATE KEY-----\n")
    only(storm, f"{storm}/stack/app/tls.key:1", "private key")


def test_access_key_but_not_the_documented_example(storm: Path) -> None:
    edit(storm / "stack" / "compose.yaml", "SESSION_SECRET: 3f1c9a7e-payments-demo-secret\n",
         "SESSION_SECRET: 3f1c9a7e-payments-demo-secret\n      AWS_ACCESS_KEY_ID: AKIAZ7QX3MPLE4K2J6WB\n      EXAMPLE: AKIAIOSFODNN7EXAMPLE\n")
    only(storm, "stack/compose.yaml:", "AWS access key id")


def test_every_problem_is_its_own_line(storm: Path) -> None:
    edit(storm / "scenario.yaml", "kind: file-drift", "kind: nope")
    edit(storm / "scenario.yaml", "failing: [test_no_server_errors_under_load]", "failing: [test_gone]")
    (storm / "hints" / "03.md").unlink()
    found = lines(storm)
    assert len(found) == 3, found
    assert all(line.startswith(f"{storm}/scenario.yaml: ") for line in found)


def test_cli_exit_codes_and_json(storm: Path) -> None:
    runner = CliRunner()
    clean = runner.invoke(cli.app, ["lint", str(storm), "--json"])
    assert clean.exit_code == ExitCode.OK, clean.output
    assert json.loads(clean.stdout)["passed"] is True
    edit(storm / "scenario.yaml", "difficulty: medium", "difficulty: brutal")
    broken = runner.invoke(cli.app, ["lint", str(storm), "--json"])
    assert broken.exit_code == ExitCode.FAILED
    document = json.loads(broken.stdout)
    assert document["command"] == "lint" and document["passed"] is False
    [problem] = document["entries"][0]["problems"]
    assert problem["file"] == f"{storm}/scenario.yaml" and problem["message"].startswith("difficulty:")
    assert runner.invoke(cli.app, ["lint", "502-storm"]).exit_code == ExitCode.OK
    assert runner.invoke(cli.app, ["lint", "no-such-entry"]).exit_code == ExitCode.ERROR
