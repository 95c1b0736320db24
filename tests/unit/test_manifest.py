"""Manifest validation: good files load, bad ones give one clear error naming file, field and problem."""

import re
from pathlib import Path

import pytest
import yaml

from harness.errors import BreakfixError
from harness.manifest import ScenarioManifest, load_manifest, load_yaml, read_text

GOOD = {
    "id": "demo",
    "title": "A demo scenario",
    "summary": "Something breaks and the learner fixes it.",
    "difficulty": "easy",
    "tags": ["nginx"],
    "question": "T3",
    "requires": ["docker"],
    "services": ["web"],
    "entrypoint": {"service": "web", "url": "http://127.0.0.1:8099"},
    "faults": [{"kind": "file-drift", "params": {"service": "web", "path": "/x", "content": "y"}}],
    "confirm": {"failing": ["test_it_works"]},
}


def write(tmp_path: Path, data: object, name: str = "scenario.yaml", directory: str = "demo") -> Path:
    folder = tmp_path / directory
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def test_good_manifest_loads(tmp_path: Path) -> None:
    manifest = load_manifest(write(tmp_path, GOOD))
    assert isinstance(manifest, ScenarioManifest)
    assert manifest.entrypoint is not None and manifest.entrypoint.url == "http://127.0.0.1:8099"
    assert manifest.time_limit == 30 and manifest.confirm.timeout == 60


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ({"difficulty": "extreme"}, "difficulty", "Input should be"),
        ({"question": "Q99"}, "question", "question-bank id"),
        ({"faults": []}, "faults", "at least 1"),
        ({"requires": ["podman"]}, "requires.0", "Input should be"),
        ({"entrypoint": {"service": "web", "url": "http://0.0.0.0:80"}}, "entrypoint.url", "loopback only"),
        ({"entrypoint": {"service": "db", "url": "http://127.0.0.1:80"}}, "(top level)", "not one of services"),
        ({"colour": "blue"}, "colour", "Extra inputs are not permitted"),
        ({"time_limit": 0}, "time_limit", "greater than 0"),
    ],
)
def test_bad_field_is_named(tmp_path: Path, change: dict, field: str, problem: str) -> None:
    path = write(tmp_path, {**GOOD, **change})
    with pytest.raises(BreakfixError) as caught:
        load_manifest(path)
    message = str(caught.value)
    assert str(path) in message and field in message and problem in message
    assert "\n" not in message


def test_missing_field(tmp_path: Path) -> None:
    data = dict(GOOD)
    del data["confirm"]
    with pytest.raises(BreakfixError, match=r"confirm: Field required"):
        load_manifest(write(tmp_path, data))


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(BreakfixError, match=r"scenario.yaml: line \d+ invalid YAML"):
        load_manifest(write(tmp_path, "id: demo\ntitle: [unclosed\n"))


def test_not_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(BreakfixError, match="must be a mapping"):
        load_manifest(write(tmp_path, "- just\n- a list\n"))


def test_id_must_match_directory(tmp_path: Path) -> None:
    with pytest.raises(BreakfixError, match=r"must match its directory name 'other'"):
        load_manifest(write(tmp_path, GOOD, directory="other"))


def test_lab_manifest(tmp_path: Path) -> None:
    lab = {k: GOOD[k] for k in ("title", "summary", "difficulty", "tags")} | {"id": "demo", "question": "C1", "entry": "main.py"}
    manifest = load_manifest(write(tmp_path, lab, name="lab.yaml"))
    assert manifest.kind == "lab"


def test_unknown_manifest_name(tmp_path: Path) -> None:
    with pytest.raises(BreakfixError, match="not a manifest"):
        load_manifest(write(tmp_path, GOOD, name="manifest.yaml"))


# -- issue 11: bounded, strict reading of an author's YAML ---------------------------------------------------

BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 10)}]\n" for previous, name in zip("abcd", "bcde", strict=True)
)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("id: demo\ntitle: one\ntitle: two\n", r"line 3 invalid YAML: duplicate key 'title' \(first at line 2\)"),
        ("{id: demo, id: other}\n", r"line 1 invalid YAML: duplicate key 'id'"),
        ("x: " + "[" * 10_000 + "]" * 10_000 + "\n", r"nested deeper than 32 levels"),
        ("".join(" " * depth + "k:\n" for depth in range(100)), r"nested deeper than 32 levels"),
        (BOMB, r"more than 100000 values once aliases are expanded"),
        ("a: &a [*a]\n", r"an alias refers to a node that contains it"),
        ("id: \x00\n", r"position 4 invalid YAML: unacceptable character #x0000"),
        ("id: demo\n---\nid: other\n", r"2 documents \(---\) where one is expected"),
        ("? [a, b]\n: 1\n", r"line 1 invalid YAML: found unhashable key"),
    ],
)
def test_yaml_problems_are_one_line(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(BreakfixError) as caught:
        load_manifest(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert re.search(problem, message), message


def test_merge_keys_may_be_overridden(tmp_path: Path) -> None:
    path = write(tmp_path, "base: &base {a: 1, b: 2}\nother:\n  <<: *base\n  a: 3\n", name="any.yaml")
    assert load_yaml(path) == {"base": {"a": 1, "b": 2}, "other": {"a": 3, "b": 2}}


def test_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "demo" / "scenario.yaml"
    path.parent.mkdir()
    path.write_bytes(b"id: demo\ntitle: caf\xe9\n")
    with pytest.raises(BreakfixError, match=r"scenario.yaml: line 2: not UTF-8 text \(byte 0xe9\)"):
        load_manifest(path)


def test_unreadable_files(tmp_path: Path) -> None:
    (tmp_path / "demo" / "scenario.yaml").mkdir(parents=True)
    with pytest.raises(BreakfixError, match=r"scenario.yaml: cannot read: Is a directory"):
        read_text(tmp_path / "demo" / "scenario.yaml")
    with pytest.raises(BreakfixError, match=r"cannot read: File name too long"):
        read_text(tmp_path / ("x" * 5000))


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ({"time_limit": True}, "time_limit", "true is not a number"),
        ({"check_timeout": False}, "check_timeout", "false is not a number"),
        ({"confirm": {"failing": ["t"], "interval": True}}, "confirm.interval", "true is not a number"),
        ({"title": "a\u2066b title"}, "title", "U+2066"),
        ({"summary": "a summary\x07 that beeps"}, "summary", "U+0007"),
        ({"tags": ["\x1b[2J"]}, "tags.0", "U+001B"),
        ({"hints": ["~/hint.md"]}, "hints.0", "not absolute"),
        ({"stack": "stack/../../compose.yaml"}, "stack", "no '..'"),
        ({"stack": "compose.yaml"}, "stack", "a folder of its own"),
        ({"entrypoint": {"service": "web", "url": "http://127.0.0.1:0"}}, "entrypoint.url", "not between 1 and 65535"),
        ({"host_mounts": [{"path": "var/run/docker.sock", "reason": "x" * 30}]}, "host_mounts.0.path", "String should match"),
        ({"host_mounts": [{"path": "/", "reason": "why not"}]}, "host_mounts.0.reason", "at least 20 characters"),
        ({"confirm": {"failing": ["t"]}, "colour\nred": 1}, "'colour\\nred'", "Extra inputs"),
    ],
)
def test_wrong_values_the_schema_used_to_accept(tmp_path: Path, change: dict, field: str, problem: str) -> None:
    path = write(tmp_path, {**GOOD, **change})
    with pytest.raises(BreakfixError) as caught:
        load_manifest(path)
    message = str(caught.value)
    assert f"{field}: " in message and problem in message and "\n" not in message, message


def test_numbers_written_as_strings_still_load(tmp_path: Path) -> None:
    manifest = load_manifest(write(tmp_path, {**GOOD, "time_limit": "45"}))
    assert manifest.time_limit == 45
