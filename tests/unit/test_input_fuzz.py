"""Property: no malformed manifest, compose file or state file ever gives a traceback.

Hypothesis mutates real shipped entries (a field replaced by a hostile value, deleted, or joined
by an unknown one; bytes inserted into the file) and writes state files of every shape. Each
load either succeeds or raises one BreakfixError: one line that names the file and the field.
Deterministic (derandomize) and bounded, so CI runs the same 1,450 examples in well under a minute.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from harness import catalog, state
from harness.errors import BreakfixError
from harness.paths import content_root

FUZZ = settings(
    derandomize=True,  # the same examples on every run: CI is deterministic
    database=None,
    deadline=2000,  # ms per example: a validator that goes quadratic on hostile input fails here
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

HOSTILE = [
    "", " ", "a" * 5000, "/etc/passwd", "../../..", "/bin/true", "~/x", "README.md", "stack", "[bold]x[/]", "[/bold]",
    "\x1b[31mred", "\u202eevil", "\x00", "yes", "on", "1e400", "-1", "99999", "127.0.0.1:99999:80", "0.0.0.0:8080:80",
    "127.0.0.1:8080:80", "/:/host", "/var/run/docker.sock:/var/run/docker.sock", "../..:/x", "./lb", "lb", "app-1", "ghost",
    "file-drift", "container-stop", "chaos-proxy", "test_no_server_errors_under_load", "http://127.0.0.1:99999",
    "http://127.0.0.1:[bold]", "http://127.0.0.1:8080", "docker", "kind", "scenario", "lab", "CMD", "1s", "soon",
]
FIELD_NAMES = [
    "id", "title", "kind", "params", "service", "stack", "services", "faults", "confirm", "failing", "hints", "fake_fixes",
    "script", "entrypoint", "url", "ports", "volumes", "depends_on", "image", "healthcheck", "host_mounts", "path", "reason",
    "instance", "entry_id", "phase", "owner", "attempts", "hints_used", "schema_version", "<<",
]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(),
    st.text(max_size=20), st.sampled_from(HOSTILE),
)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)


def paths_in(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a YAML/JSON tree a mutation can hit."""
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += paths_in(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += paths_in(value, (*prefix, index))
    return found


@st.composite
def mutants(draw: st.DrawFn, original: Any) -> Any:
    """`original` with one to three places replaced, deleted, or given an unknown sibling."""
    data = json.loads(json.dumps(original))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(paths_in(data)))
        if not where:
            data = draw(values) if draw(st.integers(0, 9)) == 0 else data
            continue
        *parents, last = where
        holder = data
        try:
            for key in parents:
                holder = holder[key]
            operation = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
            if operation == "replace":
                holder[last] = draw(values)
            elif operation == "delete":
                del holder[last]
            elif isinstance(holder, dict):
                holder[draw(st.sampled_from(FIELD_NAMES) | st.text(max_size=6))] = draw(values)
            else:
                holder.append(draw(values))
        except (KeyError, IndexError, TypeError):  # an earlier mutation moved the place: skip it
            continue
    return data


@st.composite
def byte_mutants(draw: st.DrawFn, original: bytes) -> bytes:
    """`original` with hostile bytes spliced in: bad UTF-8, NUL, deep brackets, tabs, duplicate keys, aliases."""
    splice = draw(st.sampled_from([
        b"\xff\xfe", b"\xe9", b"\x00", b"\t", b"[" * 5000, b"{a: " * 200, b"\n  - &x [*x]\n", b"\nid: again\n", b": :",
        b"\n---\n", b"*undefined", b"!!python/object:os.system ls", b"\"unclosed", "\r\n\x85\u2028".encode(),
    ]) | st.binary(max_size=12))
    at = draw(st.integers(0, len(original)))
    return original[:at] + splice + original[at:]


ENTRIES = ["scenarios/502-storm", "scenarios/terraform-stale-lock", "labs/deploy-order"]


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("fuzz")
    found = {}
    for entry in ENTRIES:
        shutil.copytree(content_root() / entry, base / entry)
        found[entry] = base / entry
    return found


def assert_one_line_naming_file_and_field(message: str, directory: Path) -> None:
    assert "\n" not in message and "\r" not in message, message
    assert message.startswith(str(directory)), message
    rest = message[len(str(directory)):]
    # a file in the entry, then the field (or the line YAML stopped at), then the problem
    assert re.match(r"^/[^:]*: \S.*", rest) and ": " in rest[rest.index(": ") + 2:] or re.match(r"^/[^:]*:( line| position) \d+", rest), message


def load_mutated(directory: Path, name: str, content: bytes) -> None:
    target = directory / name
    original = target.read_bytes()
    target.write_bytes(content)
    try:
        catalog.load_entry(directory)
        event("accepted")  # a mutation can leave the file valid (a title replaced by another title)
    except BreakfixError as exc:
        event("rejected")
        assert_one_line_naming_file_and_field(str(exc), directory)
    finally:
        target.write_bytes(original)


def manifest_name(directory: Path) -> str:
    return "scenario.yaml" if (directory / "scenario.yaml").is_file() else "lab.yaml"


@settings(FUZZ, max_examples=500)
@given(data=st.data())
def test_malformed_manifests_give_one_line_errors(copies: dict[str, Path], data: st.DataObject) -> None:
    directory = copies[data.draw(st.sampled_from(ENTRIES))]
    name = manifest_name(directory)
    mutant = data.draw(mutants(yaml.safe_load((directory / name).read_text())))
    load_mutated(directory, name, yaml.safe_dump(mutant, allow_unicode=data.draw(st.booleans())).encode())


@settings(FUZZ, max_examples=350)
@given(data=st.data())
def test_malformed_compose_files_give_one_line_errors(copies: dict[str, Path], data: st.DataObject) -> None:
    directory = copies["scenarios/502-storm"]
    mutant = data.draw(mutants(yaml.safe_load((directory / "stack/compose.yaml").read_text())))
    load_mutated(directory, "stack/compose.yaml", yaml.safe_dump(mutant).encode())


@settings(FUZZ, max_examples=250)
@given(data=st.data())
def test_bytes_spliced_into_manifests_and_stacks_give_one_line_errors(copies: dict[str, Path], data: st.DataObject) -> None:
    directory = copies[data.draw(st.sampled_from(ENTRIES))]
    name = data.draw(st.sampled_from([manifest_name(directory), "README.md", "stack/compose.yaml"]))
    if not (directory / name).is_file():
        name = manifest_name(directory)
    load_mutated(directory, name, data.draw(byte_mutants((directory / name).read_bytes())))


GOOD_STATE = {
    "schema_version": 2, "instance": "demo", "entry_id": "demo", "kind": "scenario", "started_at": 1.0, "hints_used": 1,
    "attempts": [{"at": 2.0, "passed": 1, "failed": 0}], "phase": "running", "owner": None,
}


@st.composite
def state_files(draw: st.DrawFn) -> bytes:
    shape = draw(st.sampled_from(["mutant", "json", "bytes", "deep"]))
    if shape == "mutant":
        return json.dumps(draw(mutants(GOOD_STATE))).encode()
    if shape == "json":
        return json.dumps(draw(values)).encode()
    if shape == "deep":
        return b"[" * draw(st.integers(100, 100_000))
    return draw(byte_mutants(json.dumps(GOOD_STATE).encode()))


@settings(FUZZ, max_examples=350)
@given(content=state_files(), pointer=st.booleans())
def test_malformed_state_files_give_one_line_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes, pointer: bool) -> None:
    home = tmp_path / "state"
    shutil.rmtree(home, ignore_errors=True)
    monkeypatch.setenv("BREAKFIX_STATE_DIR", str(home))
    if pointer:  # active.json, in the pointer format or schema 1's whole record
        target = home / state.ACTIVE_FILE
    else:
        target = state.state_file("demo")
        (home / state.ACTIVE_FILE).parent.mkdir(parents=True, exist_ok=True)
        (home / state.ACTIVE_FILE).write_text(json.dumps({"schema_version": 2, "instance": "demo"}))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    try:
        state.load_active()
        event("accepted")
    except BreakfixError as exc:
        event("rejected")
        message = str(exc)
        assert "\n" not in message and message.startswith(str(home)), message
