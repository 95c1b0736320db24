"""The catalog finds entries, validates what manifests reference, and never hides a bad one."""

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

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


# -- issue 11: what start used to trip on (or accept) is an error when the catalog loads --------------------

STORM = "scenarios/502-storm"


def manifest_of(content: Path) -> Path:
    return content / STORM / "scenario.yaml"


def edit_manifest(content: Path, change: Callable[[dict], object]) -> None:
    path = manifest_of(content)
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def edit_stack(content: Path, old: str, new: str) -> None:
    stack = content / STORM / "stack/compose.yaml"
    text = stack.read_text()
    assert old in text
    stack.write_text(text.replace(old, new))


def single_problem(content: Path) -> str:
    """The one problem the bad entry gives, checked to be one line that names a file of the entry."""
    entries, problems = catalog.scan(content)
    assert entries == [] and len(problems) == 1, problems
    (problem,) = problems
    assert "\n" not in problem and str(content / STORM) in problem
    return problem


def set_in(data: dict, dotted: str, value: object) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        data = data[int(key)] if isinstance(data, list) else data[key]
    if isinstance(data, list):
        data[int(last)] = value
    else:
        data[last] = value


MANIFEST_MUTANTS = [
    # fault kinds and parameters (were validated only at start)
    ("faults.0.kind", "file-drifft", r"faults\[0\]\.kind: unknown fault 'file-drifft'"),
    ("faults.0.params", {}, r"faults\[0\] \(file-drift\)\.params: service: Field required"),
    ("faults.0.params", {"workspace": "prod", "keep": 0.5}, r"faults\[0\] \(file-drift\)\.params: service: Field required"),
    ("faults.0.params.service", "ghost", r"faults\[0\]\.params\.service: 'ghost' is not one of services"),
    ("faults.0.params.path", "etc/nginx", r"path must be absolute"),
    # confirm.failing naming no check (start waited out the whole confirm timeout)
    ("confirm.failing", ["test_does_not_exist"], r"confirm\.failing: no check named test_does_not_exist"),
    # referenced files outside the entry directory
    ("hints.1", "/etc/passwd", r"hints\.1: '/etc/passwd': must be relative"),
    ("hints.1", "../../../etc/passwd", r"hints\.1: .*no '\.\.'"),
    ("fake_fixes.0.script", "/bin/true", r"fake_fixes\.0\.script: '/bin/true': must be relative"),
    ("stack", "/etc/compose.yaml", r"stack: '/etc/compose.yaml': must be relative"),
    ("stack", "a" * 5000, r"stack: a path of 5000 characters"),
    ("stack", "README.md", r"stack: 'README.md': the stack must be inside a folder of its own"),
    ("fake_fixes.1.id", "one-backend", r"fake_fixes: fake fix id\(s\) used more than once: one-backend"),
    # the entrypoint
    ("entrypoint.url", "http://127.0.0.1:9999", r"entrypoint\.url: port 9999 is not published by service lb \(it publishes 8080\)"),
    ("entrypoint.url", "http://127.0.0.1:99999", r"entrypoint\.url: port 99999 is not between 1 and 65535"),
    ("entrypoint.url", "http://localhost", r"entrypoint\.url: must be http://127\.0\.0\.1:PORT"),
    # types and text
    ("time_limit", True, r"time_limit: true is not a number"),
    ("confirm.timeout", False, r"confirm\.timeout: false is not a number"),
    ("title", "502 storm \x1b[31mred\x1b[0m", r"title: contains the control character U\+001B"),
    ("title", "502 storm \u202eevil", r"title: contains the control character U\+202E"),
    ("requires", [], r"requires: a scenario needs a runtime for its stack"),
]


@pytest.mark.parametrize(("field", "value", "problem"), MANIFEST_MUTANTS, ids=[f"{m[0]}={str(m[1])[:20]}" for m in MANIFEST_MUTANTS])
def test_a_wrong_manifest_is_invalid_at_load(content: Path, field: str, value: object, problem: str) -> None:
    edit_manifest(content, lambda data: set_in(data, field, value))
    assert re.search(problem, single_problem(content))


STACK_MUTANTS = [
    ('"127.0.0.1:8080:80"', '"127.0.0.1:99999:80"', r"services\.lb\.ports: .*between 1 and 65535"),
    ("depends_on: [app-1, app-2]", "depends_on: [app-1, ghost]", r"services\.lb\.depends_on: unknown service 'ghost'"),
    ("    init: true\n    environment:\n      BACKEND_ID: app-1", "    init: true\n    depends_on: [lb]\n    environment:\n      BACKEND_ID: app-1",
     r"depends_on: cycle: "),
    ("      - ./lb:/etc/nginx/conf.d", "      - /:/host", r"services\.lb\.volumes: '/': mounts the host's root"),
    ("      - ./lb:/etc/nginx/conf.d", "      - /var/run/docker.sock:/var/run/docker.sock", r"mounts the Docker socket"),
    ("      - ./lb:/etc/nginx/conf.d", "      - /etc:/host-etc:ro", r"'/etc': mounts a host path"),
    ("      - ./lb:/etc/nginx/conf.d", "      - ../..:/entry", r"'\.\./\.\.': leads outside the stack folder"),
    ("      - ./lb:/etc/nginx/conf.d", "      - lb", r"volumes: 'lb': write a volume as SOURCE:/container/path"),
    ("    mem_limit: 128m", "    mem_limit: 128m\n    mem_limit: 256m", r"line \d+ invalid YAML: duplicate key 'mem_limit'"),
    ("      retries: 3\n  app-2:", "      retries: true\n  app-2:", r"retries: true is not a number"),
    ('lb-health"]\n      interval: 2s', 'lb-health"]\n      interval: soon', r"interval: 'soon' is not a duration"),
]


@pytest.mark.parametrize(("old", "new", "problem"), STACK_MUTANTS, ids=[m[1][:30] for m in STACK_MUTANTS])
def test_a_wrong_stack_is_invalid_at_load(content: Path, old: str, new: str, problem: str) -> None:
    edit_stack(content, old, new)
    assert re.search(problem, single_problem(content))


def test_a_stack_not_named_compose_is_still_validated(content: Path) -> None:
    stack = content / STORM / "stack"
    (stack / "compose.yaml").rename(stack / "docker.yaml")
    edit_manifest(content, lambda data: data.update(stack="stack/docker.yaml"))
    assert [entry.id for entry in catalog.discover(content)] == ["502-storm"]
    edit_stack_path = stack / "docker.yaml"
    edit_stack_path.write_text(edit_stack_path.read_text().replace('"127.0.0.1:8080:80"', '"0.0.0.0:8080:80"'))
    assert "publishes on 0.0.0.0" in single_problem(content)


def test_a_declared_host_mount_needs_its_reason(content: Path) -> None:
    edit_stack(content, "      - ./lb:/etc/nginx/conf.d", "      - ./lb:/etc/nginx/conf.d\n      - /var/run/docker.sock:/var/run/docker.sock:ro")
    edit_manifest(content, lambda data: data.update(host_mounts=[{"path": "/var/run/docker.sock", "reason": "because"}]))
    assert re.search(r"host_mounts\.0\.reason: String should have at least 20 characters", single_problem(content))
    reason = "the scenario's sidecar lists the engine's containers, as the monitoring agent in production does"
    edit_manifest(content, lambda data: data.update(host_mounts=[{"path": "/var/run/docker.sock", "reason": reason}]))
    assert [entry.id for entry in catalog.discover(content)] == ["502-storm"]


def test_a_symlink_out_of_the_entry_is_refused(content: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.md"
    outside.write_text("not the entry's\n")
    hint = content / STORM / "hints/02.md"
    hint.unlink()
    hint.symlink_to(outside)
    assert re.search(r"scenario\.yaml: hints\[1\]: hints/02\.md leads outside the entry directory", single_problem(content))


def test_a_bind_mount_through_a_symlink_out_of_the_stack_is_refused(content: Path) -> None:
    lb = content / STORM / "stack/lb"
    shutil.rmtree(lb)
    lb.symlink_to("/etc")
    assert "'./lb': leads outside the stack folder" in single_problem(content)


@pytest.mark.parametrize("name", ["scenario.yaml", "stack/compose.yaml", "README.md", "hints/01.md", "solution/SOLUTION.md", "checks/test_traffic.py"])
def test_bytes_that_are_not_utf8_are_named(content: Path, name: str) -> None:
    path = content / STORM / name
    path.write_bytes(path.read_bytes() + b"\n# caf\xe9\n")
    problem = single_problem(content)
    assert f"{name}: line " in problem and "not UTF-8 text (byte 0xe9)" in problem


@pytest.mark.parametrize("name", ["scenario.yaml", "stack/compose.yaml"])
def test_deep_nesting_is_bounded(content: Path, name: str) -> None:
    path = content / STORM / name
    path.write_text(path.read_text() + "\nx: " + "[" * 10_000 + "]" * 10_000 + "\n")
    assert "invalid YAML: nested deeper than 32 levels" in single_problem(content)


def test_a_huge_file_is_bounded(content: Path) -> None:
    path = manifest_of(content)
    path.write_text(path.read_text() + "# " + "x" * (2 << 20) + "\n")
    assert "scenario.yaml: larger than 1024 KiB" in single_problem(content)


def test_a_check_that_is_not_python_is_named(content: Path) -> None:
    (content / STORM / "checks/test_traffic.py").write_text("def test_x(:\n")
    assert re.search(r"checks/test_traffic\.py: line 1: invalid Python", single_problem(content))


def test_one_bad_entry_never_hides_the_others(content: Path) -> None:
    shutil.copytree(content / STORM, content / "scenarios/storm-copy")
    copy = content / "scenarios/storm-copy/scenario.yaml"
    copy.write_text(copy.read_text().replace("id: 502-storm", "id: storm-copy").replace("http://127.0.0.1:8080", "http://127.0.0.1:[bold]x"))
    entries, problems = catalog.scan(content)
    assert [entry.id for entry in entries] == ["502-storm"]
    assert len(problems) == 1 and "storm-copy/scenario.yaml: entrypoint.url: must be" in problems[0]


def test_list_prints_the_good_entries_and_each_bad_one(content: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from harness.cli import app

    shutil.copytree(content / STORM, content / "scenarios/storm-copy")
    copy = content / "scenarios/storm-copy/scenario.yaml"
    copy.write_bytes(copy.read_bytes().replace(b"id: 502-storm", b"id: storm-copy").replace(b"127.0.0.1:8080", b"127.0.0.1:[/bold]\xff"))
    (content / "infra").symlink_to(content_root() / "infra")  # the doctor column reads the image recipe
    monkeypatch.setenv("BREAKFIX_CONTENT", str(content))
    result = CliRunner().invoke(app, ["list"])
    assert result.exit_code == 3, result.output  # a bad manifest: exit 3, after every entry is listed
    assert "502-storm" in result.output and "not UTF-8 text" in result.output


@pytest.mark.parametrize("entry_id", ["../../etc", "a" * 5000, "UPPER"])
def test_find_refuses_ids_that_are_not_slugs(content: Path, entry_id: str) -> None:
    with pytest.raises(BreakfixError, match="an id is 2-41 lower-case letters"):
        catalog.find(entry_id, content)
