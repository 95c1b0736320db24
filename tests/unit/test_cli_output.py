"""The command line's output contract: exit codes, one JSON document on stdout under --json, human lines
on stderr, every error one line and never a traceback, user text escaped, `list` whole at 80 columns."""

from __future__ import annotations

import errno
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

import harness
from harness import catalog, cli, doctor, state
from harness.errors import BreakfixError
from harness.output import SCHEMA_VERSION, ExitCode, plain, printable

LONG_ID = "a-lab-whose-id-is-as-long-as-ids-may-be-x"  # 41 characters, the longest a slug may be
ROOT = Path(__file__).resolve().parents[2]


def lab_files(entry_id: str, title: str) -> dict[str, str]:
    return {
        "lab.yaml": f"id: {entry_id}\ntitle: {title}\nsummary: A lab for the CLI's tests.\ndifficulty: easy\nquestion: C1\n"
                    "time_limit: 5\nrequires: [docker]\nentry: answer.py\nhints: [hints/01.md]\n"
                    "tags: [python, a-tag-long-enough-to-be-cut, another-long-tag, and-one-more]\n",
        "README.md": "# brief\n",
        "hints/01.md": "Look closer.\n",
        "starter/answer.py": "ANSWER = 0\n",
        "checks/test_answer.py": 'def test_answer():\n    """The answer is right"""\n',
        "solution/answer.py": "ANSWER = 42\n",
        "solution/solve.sh": "#!/usr/bin/env bash\n",
        "solution/SOLUTION.md": "# solution\n",
    }


def write_lab(content: Path, entry_id: str, title: str = "A lab with a title long enough to wrap in a narrow column") -> Path:
    for name, text in lab_files(entry_id, title).items():
        path = content / "labs" / entry_id / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return content / "labs" / entry_id


@pytest.fixture()
def content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two valid labs and one whose lab.yaml is not UTF-8, as BREAKFIX_CONTENT."""
    root = tmp_path / "content"
    write_lab(root, LONG_ID)
    write_lab(root, "short-one", "Short")
    broken = write_lab(root, "broken-lab")
    (broken / "lab.yaml").write_bytes((broken / "lab.yaml").read_bytes().replace(b"title: ", b"title: \xff"))
    (root / "scenarios").mkdir()
    monkeypatch.setenv("BREAKFIX_CONTENT", str(root))
    return root


@pytest.fixture(autouse=True)
def private_emulator_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`breakfix stop` with nothing running stops the machine's AWS emulator when no lease holds it:
    these tests must not find (and stop) one that a test on another xdist worker started."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "runtime"))


@pytest.fixture()
def docker_ok(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine meets `docker` (the doctor's probe of a real engine is not what these tests are about)."""
    monkeypatch.setattr(cli, "findings_for", lambda entries: {"docker": [doctor.Finding("docker", "engine", True, "test")]})


def run(*args: str, columns: int = 80) -> Any:
    result = CliRunner().invoke(cli.app, list(args), env={"COLUMNS": str(columns)})
    assert "Traceback" not in result.stdout + result.stderr
    return result


def json_document(stdout: str, command: str) -> dict[str, Any]:
    document = json.loads(stdout)  # the whole of stdout: nothing else may be printed there
    assert document["schema_version"] == SCHEMA_VERSION and document["command"] == command
    return document


# -- version and entry points ----------------------------------------------------------------------

def test_version_is_kept_in_one_place() -> None:
    assert run("--version").stdout == f"breakfix {harness.__version__}\n"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["hatch"]["version"]["path"] == "harness/__init__.py"
    assert project["project"]["scripts"]["breakfix"] == "harness.__main__:main"


def test_python_dash_m_harness_runs_the_cli() -> None:
    result = subprocess.run([sys.executable, "-m", "harness", "--version"], capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    assert (result.returncode, result.stdout) == (0, f"breakfix {harness.__version__}\n")


INTERRUPT_WHILE_IMPORTING = """
import importlib.abc, os, signal, sys

MODULE = sys.argv[1]

class Interrupt(importlib.abc.MetaPathFinder):
    # Ctrl-C exactly while the CLI imports the module named on the command line
    def find_spec(self, name, path, target=None):
        if name == MODULE:
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, Interrupt())
sys.argv = ["breakfix", "list"]
from harness.__main__ import main
main()
"""


@pytest.mark.parametrize("module", ["typer", "rich.console", "harness.catalog", "harness.manifest", "harness.grading.report"])
def test_ctrl_c_while_the_cli_imports_exits_130_with_one_line(module: str) -> None:
    result = subprocess.run([sys.executable, "-c", INTERRUPT_WHILE_IMPORTING, module], capture_output=True, text=True, timeout=60, check=False)
    assert (result.returncode, result.stdout, result.stderr) == (130, "", "interrupted\n")


# -- exit codes and errors -------------------------------------------------------------------------

def test_exit_codes_are_distinct() -> None:
    assert [int(code) for code in ExitCode] == [0, 1, 2, 3, 130]


def test_a_usage_error_exits_2() -> None:
    assert run("verify").exit_code == 2
    assert run("list", "--no-such-option").exit_code == 2


def test_nothing_running_exits_3_with_one_line_and_a_json_error_document() -> None:
    human = run("status")
    assert human.exit_code == 3 and human.stdout == ""
    assert human.stderr == "error: nothing is running: `breakfix list`, then `breakfix start <id>`\n"
    machine = run("status", "--json")
    assert machine.exit_code == 3
    document = json_document(machine.stdout, "status")
    assert document["passed"] is False and document["error"].startswith("nothing is running")
    for command in ("check", "hint", "stop", "env", "solve"):
        result = run(command, *(["--json"] if command == "check" else []))
        assert result.exit_code == 3 and result.stderr.startswith("error: nothing is running"), (command, result.stderr)


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (PermissionError(errno.EACCES, "Permission denied", "/st/instances/x/state.json"),
         r"^error: permission denied on /st/instances/x/state.json: make it writable by \S+ \(or point BREAKFIX_STATE_DIR"),
        (OSError(errno.ENOSPC, "No space left on device", "/st/instances/x/workspace/a"),
         r"^error: no space left on the device holding /st/instances/x/workspace/a: free some space \(`df -h /st/instances/x/workspace`\)"),
        (OSError(errno.EROFS, "Read-only file system", "/st/active.json"), r"^error: /st/active.json is on a read-only file system"),
        (RecursionError("maximum recursion depth exceeded"),
         r"^error: unexpected RecursionError: maximum recursion depth exceeded -- a breakfix bug, please report it"),
        (type("ConnectionError", (Exception,), {"__module__": "requests.exceptions"})("Connection aborted."),
         r"^error: the Docker engine stopped answering \(Connection aborted.\): make sure it runs \(`docker info`\)"),
    ],
)
def test_environment_errors_are_one_line_and_exit_3(monkeypatch: pytest.MonkeyPatch, raised: Exception, expected: str) -> None:
    def fail() -> None:
        raise raised

    monkeypatch.setattr(state, "require_active", fail)
    result = run("status")
    assert result.exit_code == 3
    assert re.match(expected, result.stderr) and result.stderr.count("\n") == 1, result.stderr
    assert json_document(run("status", "--json").stdout, "status")["error"] == result.stderr.removeprefix("error: ").strip()


def test_breakfix_debug_shows_the_traceback_of_a_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail() -> None:
        raise RecursionError("deep")

    monkeypatch.setattr(state, "require_active", fail)
    monkeypatch.setenv("BREAKFIX_DEBUG", "1")
    result = CliRunner().invoke(cli.app, ["status"])
    assert isinstance(result.exception, RecursionError)


def test_an_interrupt_exits_130_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(state, "require_active", interrupted)
    result = run("status")
    assert (result.exit_code, result.stderr) == (130, "interrupted\n")


def test_a_message_quoting_a_manifest_is_printed_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich would read `[/path]` as a closing tag (MarkupError) and pass ANSI and bidi controls to the terminal."""
    def fail() -> None:
        raise BreakfixError("x/scenario.yaml: entrypoint.url: must be http://127.0.0.1:<port>[/path], not '[bold]\x1b[31mred\u202eevil'")

    monkeypatch.setattr(state, "require_active", fail)
    result = run("status")
    assert result.exit_code == 3
    assert result.stderr == ("error: x/scenario.yaml: entrypoint.url: must be http://127.0.0.1:<port>[/path], "
                             "not '[bold]\\x1b[31mred\\u202eevil'\n")


def test_printable_shows_what_a_terminal_would_act_on() -> None:
    assert printable("plain text, ünïcode and emoji 🙂") == "plain text, ünïcode and emoji 🙂"
    assert printable("a\x1b[2Jb\rc\x07\u202ed\u200be\u2028") == "a\\x1b[2Jb\\x0dc\\x07\\u202ed\\u200be\\u2028"
    assert printable("two\nlines\tand a tab") == "two\nlines\tand a tab"
    assert printable("two\nlines", newlines=False) == "two\\x0alines"
    assert plain("[bold]x[/bold] <port>[/path]") == "\\[bold]x\\[/bold] <port>\\[/path]"


# -- list ------------------------------------------------------------------------------------------

def test_list_at_80_columns_keeps_every_id_whole_and_shows_the_invalid_entry(content: Path, docker_ok: None) -> None:
    result = run("list", columns=80)
    assert result.exit_code == 3, "an invalid entry is a breakfix error, after everything is shown"
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    for entry_id in (LONG_ID, "short-one", "broken-lab"):
        assert any(line.startswith(entry_id + " ") for line in lines), f"{entry_id} not whole:\n{result.stdout}"
    broken = next(line for line in lines if line.startswith("broken-lab"))
    assert "✗ invalid" in broken and "lab.yaml" in broken
    assert result.stderr.startswith(f"invalid: {content / 'labs/broken-lab/lab.yaml'}: line ") and "not UTF-8" in result.stderr
    assert result.stderr.count("\n") == 1


def test_list_in_a_narrow_terminal_drops_columns_before_it_cuts_an_id(content: Path, docker_ok: None) -> None:
    lines = run("list", columns=64).stdout.splitlines()
    assert any(line.startswith(LONG_ID + " ") for line in lines)


def test_the_catalog_table_escapes_titles_and_tags() -> None:
    from rich.console import Console

    row = {"id": "x-y", "kind": "lab", "title": "[bold]t\x1b[31m\u202e", "difficulty": "easy", "question": "C1",
           "tags": ["[red]tag"], "missing": []}
    out = Console(width=200, record=True, file=open("/dev/null", "w"))  # noqa: SIM115 -- the console owns it
    out.print(cli._catalog_table([row], [], 200))
    text = out.export_text()
    assert "[bold]t\\x1b[31m\\u202e" in text and "[red]tag" in text


def test_list_json_holds_every_entry_and_every_invalid_one(content: Path, docker_ok: None) -> None:
    result = run("list", "--json")
    assert result.exit_code == 3
    document = json_document(result.stdout, "list")
    assert [entry["id"] for entry in document["entries"]] == [LONG_ID, "short-one"]
    assert document["entries"][0]["missing"] == [] and document["entries"][0]["requires"] == ["docker"]
    [invalid] = document["invalid"]
    assert invalid["id"] == "broken-lab" and invalid["kind"] == "lab" and "not UTF-8" in invalid["problem"]


def test_list_of_the_shipped_catalog_in_a_pipe_at_80_columns() -> None:
    """As `breakfix list | cat` in an 80-column terminal: not a tty, COLUMNS=80."""
    result = subprocess.run([sys.executable, "-m", "harness", "list"], capture_output=True, text=True, timeout=120,
                            env={**_environ(), "COLUMNS": "80"}, stdin=subprocess.DEVNULL, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines)
    for entry in catalog.discover():
        assert any(line.startswith(entry.id + " ") for line in lines), f"{entry.id} not whole:\n{result.stdout}"
    assert "…" not in "".join(line.split()[0] for line in lines[2:] if line.strip())


def _environ() -> dict[str, str]:
    import os

    return {key: value for key, value in os.environ.items() if key != "BREAKFIX_CONTENT"}


# -- status and doctor -----------------------------------------------------------------------------

def test_status_json(content: Path) -> None:
    record = state.InstanceState(instance="short-one", entry_id="short-one", kind="lab", phase="running", hints_used=1)
    assert state.claim_active(record) is None
    document = json_document(run("status", "--json").stdout, "status")
    assert {key: document[key] for key in ("entry", "phase", "hints_used", "hints_total", "checks_run", "solved", "time_limit_seconds")} == {
        "entry": "short-one", "phase": "running", "hints_used": 1, "hints_total": 1, "checks_run": 0, "solved": False,
        "time_limit_seconds": 300}
    workspace = str(state.instance_dir("short-one") / "workspace")
    assert document["workspace"] == workspace
    human = run("status", columns=400)
    assert human.exit_code == 0 and human.stdout.startswith("short-one (lab) -- running")
    assert f"workspace: {workspace}" in human.stdout


def test_doctor_json_and_its_exit_code(monkeypatch: pytest.MonkeyPatch) -> None:
    found = [doctor.Finding("docker", "engine", True, "reachable"), doctor.Finding("kind", "kind", False, "[see] https://kind.sigs.k8s.io")]
    monkeypatch.setattr(doctor, "findings", lambda: found)
    result = run("doctor", "--json")
    assert result.exit_code == 1
    document = json_document(result.stdout, "doctor")
    assert document["passed"] is False and document["findings"][1] == {"requirement": "kind", "item": "kind", "ok": False,
                                                                       "detail": "[see] https://kind.sigs.k8s.io"}
    assert "[see] https://kind.sigs.k8s.io" in run("doctor", columns=200).stdout
    monkeypatch.setattr(doctor, "findings", lambda: found[:1])
    assert run("doctor", "--json").exit_code == 0


# -- verify ----------------------------------------------------------------------------------------

class ScriptedLifecycle:
    """Stands in for the lifecycle: each entry id passes, fails its verify, or finds no engine, as scripted."""

    script: ClassVar[dict[str, str]] = {}
    verified: ClassVar[list[str]] = []

    def __init__(self, entry: catalog.Entry, reporter: Any) -> None:
        self.entry, self.reporter = entry, reporter

    def require_engine(self) -> None:
        if self.script.get(self.entry.id) == "no engine":
            raise BreakfixError("no Docker engine reachable at unix:///var/run/docker.sock: start dockerd")

    def verify(self, *, fakes: bool = False) -> Any:
        from harness.lifecycle import VerifyReport

        self.verified.append(self.entry.id)
        self.reporter.step("check", "the reference solution must pass every check")
        if self.script.get(self.entry.id) == "fail":
            raise BreakfixError("the reference solution does not pass:\n  - The answer is right: [got] 0")
        return VerifyReport(self.entry.id, steps=[("check", 1.25)], fakes=[("wrong", ["test_answer"])] if fakes else [], seconds=2.5)


@pytest.fixture()
def scripted(monkeypatch: pytest.MonkeyPatch) -> type[ScriptedLifecycle]:
    monkeypatch.setattr(ScriptedLifecycle, "script", {})
    monkeypatch.setattr(ScriptedLifecycle, "verified", [])
    monkeypatch.setattr(cli, "new_lifecycle", ScriptedLifecycle)
    return ScriptedLifecycle


def test_verify_json_reports_each_entry_and_goes_on_after_one_fails(content: Path, scripted: type[ScriptedLifecycle]) -> None:
    scripted.script = {LONG_ID: "fail"}
    result = run("verify", LONG_ID, "short-one", "--json", "--fakes")
    assert result.exit_code == 1
    document = json_document(result.stdout, "verify")
    assert scripted.verified == [LONG_ID, "short-one"]
    assert document["passed"] is False and document["counts"] == {"passed": 1, "failed": 1, "invalid": 0, "skipped": 0}
    failed, passed = document["entries"]
    assert (failed["entry"], failed["outcome"], failed["passed"]) == (LONG_ID, "failed", False)
    assert failed["error"] == "the reference solution does not pass:\n  - The answer is right: [got] 0"
    assert passed == {"entry": "short-one", "outcome": "passed", "passed": True, "seconds": 2.5,
                      "steps": [{"name": "check", "seconds": 1.25}], "fakes": [{"id": "wrong", "rejected_by": ["test_answer"]}]}
    assert "▸ check" in result.stderr and "failed" in result.stderr and "verified short-one" in result.stderr


def test_verify_all_json_holds_skips_and_invalid_entries(
    content: Path, scripted: type[ScriptedLifecycle], docker_ok: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run("verify", "all", "--json")
    document = json_document(result.stdout, "verify")
    assert result.exit_code == 3, "an invalid entry is a breakfix error"
    outcomes = {entry["entry"]: entry["outcome"] for entry in document["entries"]}
    assert outcomes == {"broken-lab": "invalid", LONG_ID: "passed", "short-one": "passed"}
    assert document["passed"] is False

    (content / "labs/broken-lab").rename(content / "labs/.broken-lab")  # hidden folders are not entries
    monkeypatch.setattr(doctor, "unmet", lambda requirements, found: ["kind"])
    skipped = run("verify", "all", "--json")
    document = json_document(skipped.stdout, "verify")
    assert skipped.exit_code == 3 and document["error"].startswith("nothing to verify"), "all skipped proves nothing"
    assert [entry["outcome"] for entry in document["entries"]] == ["skipped", "skipped"]
    assert document["entries"][0]["reason"] == "this machine lacks kind (`breakfix doctor`)"


def test_verify_of_an_unknown_id_still_verifies_the_others(content: Path, scripted: type[ScriptedLifecycle]) -> None:
    result = run("verify", "no-such-lab", "short-one")
    assert result.exit_code == 3 and scripted.verified == ["short-one"]
    assert "verified short-one in 2.5s" in result.stdout and "invalid no-such-lab" in result.stdout


def test_verify_passes_with_exit_0_and_human_lines_on_stdout(content: Path, scripted: type[ScriptedLifecycle]) -> None:
    result = run("verify", "short-one", "--fakes", columns=200)
    assert result.exit_code == 0
    assert "verified short-one in 2.5s (check 1.2s)" in result.stdout and "fake fix wrong: rejected by test_answer" in result.stdout


def test_verify_without_an_engine_exits_3_and_says_so_in_its_document(content: Path, scripted: type[ScriptedLifecycle]) -> None:
    scripted.script = {"short-one": "no engine"}
    result = run("verify", "short-one", "--json")
    assert result.exit_code == 3 and scripted.verified == []
    document = json_document(result.stdout, "verify")
    assert document["passed"] is False and document["error"].startswith("no Docker engine reachable")
    assert result.stderr.splitlines()[-1].startswith("error: no Docker engine reachable")
