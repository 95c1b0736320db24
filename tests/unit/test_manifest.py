"""Manifest validation: good files load, bad ones give one clear error naming file, field and problem."""

from pathlib import Path

import pytest
import yaml

from harness.errors import BreakfixError
from harness.manifest import ScenarioManifest, load_manifest

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
