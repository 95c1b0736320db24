"""BREAKFIX_PATH and --path add entries to the built-in catalog; ids stay unique; an external entry runs
and is graded from a copy in its instance's state directory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness import catalog, cli, scaffold, state
from harness.errors import BreakfixError
from harness.output import ExitCode


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("BREAKFIX_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("BREAKFIX_PATH", raising=False)
    catalog.EXTRA_PATHS.clear()
    yield
    catalog.EXTRA_PATHS.clear()


def external(tmp_path: Path, name: str, *ids: str) -> Path:
    base = tmp_path / name
    for entry_id in ids:
        scaffold.new("scenario", entry_id, base)
    return base


def test_breakfix_path_adds_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = external(tmp_path, "one", "ext-one"), external(tmp_path, "two", "ext-two")
    monkeypatch.setenv("BREAKFIX_PATH", f"{first}:{second}")
    ids = [entry.id for entry in catalog.discover()]
    assert {"ext-one", "ext-two", "502-storm"} <= set(ids)
    assert catalog.find("ext-two").directory == second / "scenarios" / "ext-two"


def test_path_option_adds_entries(tmp_path: Path) -> None:
    base = external(tmp_path, "mine", "ext-cli")
    result = CliRunner().invoke(cli.app, ["list", "--path", str(base), "--json"])
    assert result.exit_code == ExitCode.OK, result.output
    assert "ext-cli" in [entry["id"] for entry in json.loads(result.stdout)["entries"]]
    assert [base] == catalog.EXTRA_PATHS
    later = CliRunner().invoke(cli.app, ["list", "--json"])  # one command's --path does not leak into the next
    assert "ext-cli" not in [entry["id"] for entry in json.loads(later.stdout)["entries"]]
    # wide: a panel of 80 columns wraps the message where the length of the tmp path puts it
    refused = CliRunner().invoke(cli.app, ["list", "--path", str(tmp_path / "nothing-here")], env={"COLUMNS": "400"})
    assert refused.exit_code == ExitCode.USAGE and "no scenarios/ or labs/" in refused.output


def test_duplicate_ids_name_both_places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = external(tmp_path, "one", "twin"), external(tmp_path, "two", "twin")
    monkeypatch.setenv("BREAKFIX_PATH", f"{first}:{second}")
    with pytest.raises(BreakfixError) as raised:
        catalog.find("twin")
    assert f"{second}/scenarios/twin: duplicate id 'twin', also at {first}/scenarios/twin" in str(raised.value)
    entries, problems = catalog.scan()
    assert "twin" not in [entry.id for entry in entries]
    assert [problem for problem in problems if "duplicate id 'twin'" in problem]
    shadow = external(tmp_path, "three", "502-storm-x")
    (shadow / "scenarios" / "502-storm-x").rename(shadow / "scenarios" / "502-storm")
    monkeypatch.setenv("BREAKFIX_PATH", str(shadow))
    with pytest.raises(BreakfixError, match=r"duplicate id '502-storm', also at .*scenarios/502-storm"):
        catalog.find("502-storm")


def test_an_external_entry_runs_from_its_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = external(tmp_path, "mine", "ext-run")
    source = base / "scenarios" / "ext-run"
    entry = catalog.for_run(str(source))  # a path, not on any catalog path
    assert entry.directory == state.instance_dir("ext-run") / catalog.PIN / "ext-run"
    assert (entry.checks_dir / "test_web.py").read_text() == (source / "checks" / "test_web.py").read_text()
    (source / "checks" / "test_web.py").write_text("def test_web_answers():\n    \"\"\"always\"\"\"\n")  # the author's copy changes
    assert catalog.find("ext-run").directory == entry.directory  # check, hint, stop: the copy, with no path given
    assert "assert not tasks" in (catalog.find("ext-run").checks_dir / "test_web.py").read_text()
    state.forget("ext-run")  # what stop and verify do at the end
    with pytest.raises(BreakfixError, match="no scenario or lab named 'ext-run'"):
        catalog.find("ext-run")
    monkeypatch.setenv("BREAKFIX_PATH", str(base))
    assert catalog.for_run("ext-run").directory == entry.directory  # by id on BREAKFIX_PATH: copied afresh


def test_built_in_entries_run_from_the_installed_copy() -> None:
    entry = catalog.for_run("502-storm")
    assert entry.directory == catalog.locate("502-storm")
    assert not catalog.pin_dir("502-storm").exists()


def test_a_path_that_clashes_with_a_catalog_id_is_refused(tmp_path: Path) -> None:
    base = external(tmp_path, "mine", "ext-x")
    (base / "scenarios" / "ext-x").rename(base / "scenarios" / "502-storm")
    with pytest.raises(BreakfixError, match="duplicate id '502-storm'"):
        catalog.for_run(str(base / "scenarios" / "502-storm"))
