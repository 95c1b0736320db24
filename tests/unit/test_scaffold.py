"""`breakfix new`: a written entry lints clean, and its one check names what is left to write."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from typer.testing import CliRunner

from harness import catalog, cli, lint, scaffold
from harness.errors import BreakfixError
from harness.output import ExitCode


def modeline_schema(manifest: Path) -> Path:
    first = manifest.read_text().splitlines()[0]
    match = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
    assert match, first
    return (manifest.parent / match.group(1)).resolve()


def load_check(path: Path) -> object:
    spec = importlib.util.spec_from_file_location(f"scaffold_check_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def remove_markers(directory: Path) -> None:
    for path in directory.rglob("*"):
        if path.is_file():
            path.write_text(path.read_text().replace(scaffold.MARKER, ""))


@pytest.mark.parametrize("kind", ["scenario", "lab"])
def test_new_entry_is_complete_and_lints_clean(tmp_path: Path, kind: str) -> None:
    directory = scaffold.new(kind, "my-entry", tmp_path)
    assert directory == tmp_path / catalog.KIND_DIRS[kind] / "my-entry"
    assert [str(problem) for problem in lint.lint(directory)] == []
    entry = catalog.load_entry(directory)
    assert entry.id == "my-entry" and entry.hint_files and len(entry.manifest.fake_fixes) == 1
    assert len(catalog.check_functions(sorted(entry.checks_dir.glob("test_*.py")))) == 1
    assert modeline_schema(entry.manifest_file).is_file()
    assert all(path.stat().st_mode & 0o111 for path in directory.rglob("*.sh"))


@pytest.mark.parametrize("kind", ["scenario", "lab"])
def test_its_check_names_what_is_left_to_write(tmp_path: Path, kind: str) -> None:
    directory = scaffold.new(kind, "my-entry", tmp_path)
    tasks = scaffold.still_to_write(directory)
    files = {task.split(":")[0] for task in tasks}
    assert {"README.md", "hints/01.md", "solution/SOLUTION.md", "solution/solve.sh"} <= files
    assert any(name.startswith("checks/") for name in files) and any(name.startswith("fakes/") for name in files)
    [check_file] = (directory / "checks").glob("test_*.py")
    check = load_check(check_file)
    assert check.still_to_write(directory) == tasks  # type: ignore[attr-defined]
    test = next(getattr(check, name) for name in dir(check) if name.startswith("test_"))
    instance = SimpleNamespace(entry=SimpleNamespace(directory=directory), entrypoint_url="http://127.0.0.1:1")
    with pytest.raises(AssertionError, match=r"this entry is still a scaffold, left to write: .*README.md:\d+: "):
        test(instance, None) if kind == "lab" else test(instance)
    remove_markers(directory)
    assert scaffold.still_to_write(directory) == []


def test_from_an_existing_entry(tmp_path: Path) -> None:
    directory = scaffold.new("scenario", "demo", tmp_path, source="502-storm")
    manifest = directory / "scenario.yaml"
    assert yaml.safe_load(manifest.read_text())["id"] == "demo"
    assert modeline_schema(manifest).is_file()
    assert lint.lint(directory) == []
    assert sorted(path.name for path in (directory / "fakes").iterdir()) == sorted(
        path.name for path in (catalog.find("502-storm").directory / "fakes").iterdir())


def test_refusals(tmp_path: Path) -> None:
    scaffold.new("lab", "taken", tmp_path)
    with pytest.raises(BreakfixError, match="exists already"):
        scaffold.new("lab", "taken", tmp_path)
    with pytest.raises(BreakfixError, match="502-storm is a scenario, not a lab"):
        scaffold.new("lab", "other", tmp_path, source="502-storm")
    with pytest.raises(BreakfixError, match="an id is"):
        scaffold.new("scenario", "Bad_Id", tmp_path)


def test_cli(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli.app, ["new", "scenario", "from-cli", "--dir", str(tmp_path)])
    assert result.exit_code == ExitCode.OK, result.output
    said = " ".join(result.stdout.split())  # the terminal's width may wrap a long temporary path anywhere
    assert "lint: clean" in said and "to write: README.md:" in said
    assert CliRunner().invoke(cli.app, ["new", "scenario", "from-cli", "--dir", str(tmp_path)]).exit_code == ExitCode.ERROR
