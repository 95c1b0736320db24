"""The catalog finds entries, validates what manifests reference, and never hides a bad one."""

import shutil
from pathlib import Path

import pytest

from harness import catalog
from harness.errors import BreakfixError
from harness.paths import content_root


@pytest.fixture()
def content(tmp_path: Path) -> Path:
    """A private copy of the shipped 502-storm scenario to break in different ways."""
    shutil.copytree(content_root() / "scenarios" / "502-storm", tmp_path / "scenarios" / "502-storm")
    return tmp_path


def test_shipped_catalog_is_valid() -> None:
    entries = catalog.discover()
    ids = [entry.id for entry in entries]
    assert "502-storm" in ids
    assert len(ids) == len(set(ids))
    for entry in entries:
        assert entry.hint_files and entry.brief.is_file()


def test_discover_and_find(content: Path) -> None:
    assert [entry.id for entry in catalog.discover(content)] == ["502-storm"]
    entry = catalog.find("502-storm", content)
    assert entry.kind == "scenario" and entry.checks_dir.is_dir()
    assert [hint.name for hint in entry.hint_files] == ["01.md", "02.md", "03.md"]


def test_unknown_id_lists_known_ones(content: Path) -> None:
    with pytest.raises(BreakfixError, match=r"no scenario or lab named 'nope' \(known: 502-storm\)"):
        catalog.find("nope", content)


def test_missing_referenced_file(content: Path) -> None:
    (content / "scenarios/502-storm/hints/02.md").unlink()
    with pytest.raises(BreakfixError, match=r"missing file\(s\) referenced by the manifest: hints/02.md"):
        catalog.discover(content)


def test_scenario_without_checks(content: Path) -> None:
    for check in (content / "scenarios/502-storm/checks").glob("test_*.py"):
        check.unlink()
    with pytest.raises(BreakfixError, match="no test_"):
        catalog.discover(content)


def test_stack_publishing_beyond_loopback_is_rejected(content: Path) -> None:
    stack = content / "scenarios/502-storm/stack/compose.yaml"
    stack.write_text(stack.read_text().replace('"127.0.0.1:8080:80"', '"0.0.0.0:8080:80"'))
    with pytest.raises(BreakfixError, match="publishes on 0.0.0.0"):
        catalog.discover(content)


def test_declared_service_must_exist_in_stack(content: Path) -> None:
    manifest = content / "scenarios/502-storm/scenario.yaml"
    manifest.write_text(manifest.read_text().replace("services: [lb, app-1, app-2]", "services: [lb, app-1, app-3]"))
    with pytest.raises(BreakfixError, match=r"not in the stack: \['app-3'\]"):
        catalog.discover(content)
