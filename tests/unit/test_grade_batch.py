"""Batch grading's own logic: submission kinds and names, unpacking, content hashes and the re-run
skip, the summary (CSV, JSON, table lines). No engine: the e2e test grades real submissions."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from harness.catalog import Entry, find
from harness.errors import BreakfixError
from harness.grading import batch, batch_scenario
from harness.grading.batch import Batch, Result, Submission
from harness.grading.batch_report import grouped_failures
from harness.lifecycle import Lifecycle


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def git_repo(path: Path) -> Path:
    write(path / "ratelimit.py", "committed\n")
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    subprocess.run(["git", "-C", str(path), "add", "."], check=True)
    subprocess.run(["git", "-C", str(path), "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "x"], check=True)
    write(path / "ratelimit.py", "uncommitted edit\n")  # only HEAD is the submission
    return path


def tarball(path: Path, files: dict[str, str]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_kinds(tmp_path: Path) -> None:
    write(tmp_path / "plain" / "a.py", "")
    git_repo(tmp_path / "repo")
    tarball(tmp_path / "t.tgz", {"a.py": ""})
    assert batch.kind_of(tmp_path / "plain") == "directory"
    assert batch.kind_of(tmp_path / "repo") == "git"
    assert batch.kind_of(tmp_path / "t.tgz") == "tarball"
    with pytest.raises(BreakfixError, match="neither"):
        batch.kind_of(write(tmp_path / "notes.txt", "hello"))


def test_names_are_safe_and_unique(tmp_path: Path) -> None:
    one = write(tmp_path / "a" / "alice smith" / "x.py", "").parent
    two = write(tmp_path / "b" / "alice smith" / "x.py", "").parent
    tgz = tarball(tmp_path / "bob.tar.gz", {"x.py": ""})
    assert [s.name for s in batch.submissions([one, two, tgz])] == ["alice-smith", "alice-smith-2", "bob"]


def test_unpack_each_kind(tmp_path: Path) -> None:
    folder = write(tmp_path / "dir" / "ratelimit.py", "dir\n").parent
    write(folder / "__pycache__" / "x.pyc", "junk")
    workspace = batch.unpack(Submission(folder, "directory", "d"), tmp_path / "w1")
    assert sorted(p.name for p in workspace.iterdir()) == ["ratelimit.py"]
    repo = git_repo(tmp_path / "repo")
    workspace = batch.unpack(Submission(repo, "git", "g"), tmp_path / "w2")
    assert (workspace / "ratelimit.py").read_text() == "committed\n" and not (workspace / ".git").exists()
    # one folder at the top of a tarball is the submission itself
    archive = tarball(tmp_path / "t.tgz", {"alice/ratelimit.py": "tar\n"})
    workspace = batch.unpack(Submission(archive, "tarball", "t"), tmp_path / "w3")
    assert (workspace / "ratelimit.py").read_text() == "tar\n"
    assert (workspace / "ratelimit.py").stat().st_mode & 0o444 == 0o444  # readable by the sandbox's `nobody`


def test_a_tarball_cannot_write_outside(tmp_path: Path) -> None:
    archive = tarball(tmp_path / "evil.tgz", {"../escaped.py": "x"})
    with pytest.raises(tarfile.TarError):
        batch.unpack(Submission(archive, "tarball", "evil"), tmp_path / "w")
    assert not (tmp_path / "escaped.py").exists()


def test_content_hash_follows_content_only(tmp_path: Path) -> None:
    a = write(tmp_path / "a" / "ratelimit.py", "same\n").parent
    b = write(tmp_path / "b" / "ratelimit.py", "same\n").parent
    write(b / "__pycache__" / "c.pyc", "cache")
    assert batch.content_hash(a) == batch.content_hash(b)
    write(b / "ratelimit.py", "changed\n")
    assert batch.content_hash(a) != batch.content_hash(b)


def result(name: str, conditions: list[dict[str, str]], **kwargs: object) -> Result:
    grade = {"entry": "rate-limiter", "passed": all(c["outcome"] == "passed" for c in conditions), "conditions": conditions,
             "counts": {}}
    return Result(Submission(Path(name), "directory", name), "h" * 64, grade, 1.5, **kwargs)  # type: ignore[arg-type]


PASS = {"id": "test_a", "title": "a", "outcome": "passed", "message": ""}
FAIL = {"id": "test_b", "title": "b", "outcome": "failed", "message": "14 were admitted"}


def test_rerun_skips_only_same_content_and_grader(tmp_path: Path) -> None:
    done = batch.finish(result("alice", [PASS], json_path=tmp_path / "alice.json"), "grader-1")
    junit = write(tmp_path / "alice.junit.xml", "<?xml?>")
    again = batch.cached_result(done.submission, done.content_hash, "grader-1", tmp_path / "alice.json", junit)
    assert again is not None and again.cached and again.passed
    assert batch.cached_result(done.submission, "other", "grader-1", tmp_path / "alice.json", junit) is None
    assert batch.cached_result(done.submission, done.content_hash, "grader-2", tmp_path / "alice.json", junit) is None
    junit.unlink()
    assert batch.cached_result(done.submission, done.content_hash, "grader-1", tmp_path / "alice.json", junit) is None


def test_grader_hash_and_instance_ids() -> None:
    entry = find("rate-limiter")
    assert batch.grader_hash(entry) == batch.grader_hash(entry)
    assert batch.instance_id("Alice-Smith", "0123456789abcdef") == "grade-alice-smith-01234567"
    jobs, reason = batch.default_jobs(entry)
    assert jobs >= 1 and "cores" in reason


def test_summary_csv_json_and_table(tmp_path: Path) -> None:
    crash = {"id": "test_c", "title": "c", "outcome": "error", "message": "crashed at import"}
    results = [result("alice", [PASS]), result("bob", [PASS, FAIL], peak_memory_bytes=3 * 2**20),
               result("carol", [dict(crash, id=f"test_{n}") for n in range(3)])]
    path = tmp_path / "summary.csv"
    batch.write_csv(results, path)
    rows = list(csv.DictReader(path.open()))
    assert [(r["submission"], r["passed"], r["passed_conditions"]) for r in rows] == [("alice", "yes", "1"), ("bob", "no", "1"), ("carol", "no", "0")]
    assert rows[1]["failed_conditions"] == "test_b: 14 were admitted" and rows[1]["peak_memory_mib"] == "3.0"
    summary = Batch(find("rate-limiter"), tmp_path, 2, results).as_dict()
    assert summary["passed"] is False and summary["counts"] == {"passed": 1, "failed": 2, "cached": 0}
    assert [s["passed"] for s in summary["submissions"]] == [True, False, False]
    assert json.loads(json.dumps(summary))["submissions"][1]["failed"][0]["message"] == "14 were admitted"
    assert grouped_failures(results[2]) == ["test_0 and 2 more: crashed at import"]
    assert Batch(find("rate-limiter"), tmp_path, 1, [results[0]]).passed


# -- a scenario's submissions: workspace archives ----------------------------------------------------

STORM = find("502-storm")


def storm_workspace(root: Path) -> Path:
    """A copy of 502-storm's stack folder, as a candidate's workspace holds it."""
    shutil.copytree(STORM.directory / "stack", root / "stack")
    return root


@pytest.mark.parametrize("entry_id, live", [
    ("terraform-stale-lock", "Terraform state"),
    ("pod-evictions", "Kubernetes cluster"),
    ("iam-privilege-escalation", "IAM emulator"),
    # its files can be fixed, but the stale answer lives in the resolver's memory: a flush is the fix
    ("dns-to-tls", "resolver's memory"),
])
def test_a_scenario_whose_fix_is_live_state_is_refused_before_anything_runs(entry_id: str, live: str, tmp_path: Path) -> None:
    with pytest.raises(BreakfixError, match=rf"cannot be graded from a workspace archive: its fix is live state \(.*{live}.*`breakfix check"):
        batch_scenario.grade_scenario_batch(find(entry_id), [tmp_path], out=tmp_path / "out", lifecycles=NoEngine)
    assert not (tmp_path / "out").exists()
    assert batch_scenario.published_ports(STORM) == [8080]


def test_the_stack_is_found_in_an_archive_of_the_workspace_or_of_the_stack_folder(tmp_path: Path) -> None:
    manifest = batch_scenario.scenario(STORM)
    workspace = storm_workspace(tmp_path / "ws")
    assert batch_scenario.locate_stack(manifest, workspace) == workspace / "stack"
    assert batch_scenario.locate_stack(manifest, workspace / "stack") == workspace / "stack"
    archive = tmp_path / "alice.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(workspace / "stack", arcname="stack")
    unpacked = batch.unpack(Submission(archive, "tarball", "alice"), tmp_path / "w")  # one folder at the top: the stack folder
    assert batch_scenario.locate_stack(manifest, unpacked) == unpacked
    with pytest.raises(BreakfixError, match=r"neither stack/compose.yaml nor compose.yaml: .*tar -C \"\$BREAKFIX_WORKSPACE\""):
        batch_scenario.locate_stack(manifest, write(tmp_path / "notes" / "fix.md", "").parent)


def test_applying_writes_changes_in_place_removes_removed_files_and_keeps_the_stack_definition(tmp_path: Path) -> None:
    ours = storm_workspace(tmp_path / "instance") / "stack"
    theirs = storm_workspace(tmp_path / "candidate") / "stack"
    conf = ours / "lb" / "default.conf"
    inode = conf.stat().st_ino
    write(theirs / "lb" / "default.conf", "proxy_buffer_size 16k;\n")
    write(theirs / "app" / "notes.txt", "new\n")
    (theirs / "app" / "settings.json").unlink()
    write(theirs / "compose.yaml", "services: {evil: {image: x, volumes: ['/:/host']}}\n")
    (theirs / "lb" / "passwd").symlink_to("/etc/passwd")
    applied = batch_scenario.apply_files(theirs, ours, "compose.yaml")
    assert applied.changed == ["app/notes.txt", "lb/default.conf", "app/settings.json"]
    assert applied.ignored == ["compose.yaml (the stack definition is the scenario's)", "lb/passwd (a link)"]
    assert conf.read_text() == "proxy_buffer_size 16k;\n" and conf.stat().st_ino == inode  # a one-file bind mount sees it
    assert (ours / "compose.yaml").read_bytes() == (STORM.directory / "stack" / "compose.yaml").read_bytes()
    assert not (ours / "app" / "settings.json").exists() and not (ours / "lb" / "passwd").exists()
    assert batch_scenario.apply_files(theirs, ours, "compose.yaml").changed == []  # nothing left to change


def test_restarted_are_the_services_mounting_a_change_and_their_dependents_in_start_order() -> None:
    from harness.runtime.compose import load_stack

    stack = load_stack(STORM.directory / "stack" / "compose.yaml")
    assert batch_scenario.services_to_restart(stack, ["lb/default.conf"]) == ["lb"]
    assert batch_scenario.services_to_restart(stack, ["app/payments_api.py"]) == ["app-1", "app-2", "lb"]
    assert batch_scenario.services_to_restart(stack, ["README.md"]) == []


def grade(entry: Entry, paths: list[Path], **kwargs: Any) -> Batch:
    return batch_scenario.grade_scenario_batch(entry, paths, lifecycles=NoEngine, **kwargs)


class NoEngine(Lifecycle):
    """The lifecycle as far as a batch asks before grading anything (the engine is not asked): grading
    itself is the e2e test's."""

    def require_engine(self) -> None:
        pass


def test_scenario_submissions_are_graded_one_after_another_and_a_rerun_is_served_from_results(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BREAKFIX_STATE_DIR", str(tmp_path / "state"))
    running: list[str] = []
    graded: list[str] = []

    def grade_submission(entry: object, prepared: batch.Unpacked, name: str, progress: object,
                         lifecycles: object) -> tuple[dict[str, object], int | None]:
        assert not running, "two scenario gradings at once"
        running.append(name)
        fixed = "16k" in (prepared.workspace / "lb" / "default.conf").read_text()
        graded.append(name)
        running.pop()
        return {"entry": "502-storm", "passed": fixed, "counts": {},
                "conditions": [PASS if fixed else dict(FAIL, id="test_no_server_errors_under_load", message="73 of 77 requests failed")]}, 2**20

    monkeypatch.setattr(batch_scenario, "grade_submission", grade_submission)
    alice = storm_workspace(tmp_path / "alice")
    write(alice / "stack" / "lb" / "default.conf", "proxy_buffer_size 16k;\n")
    bob = storm_workspace(tmp_path / "bob")
    write(bob / "stack" / "lb" / "default.conf", "proxy_buffer_size 4k;\n")
    empty = tarball(tmp_path / "carol.tgz", {"notes.md": "I restarted it\n"})
    notified: list[str] = []
    out = tmp_path / "out"
    first = grade(STORM, [alice, bob, empty], out=out, notify=lambda event, _r: notified.append(event))
    assert graded == ["alice", "bob"] and first.jobs == 1
    assert [(r.submission.name, r.passed) for r in first.results] == [("alice", True), ("bob", False), ("carol", False)]
    assert first.results[2].failures()[0]["id"] == "submission" and "neither stack/compose.yaml" in first.results[2].failures()[0]["message"]
    assert notified == ["started", "done", "started", "done", "done"]
    assert [r.peak_memory_bytes for r in first.results] == [2**20, 2**20, None]
    assert json.loads((out / "summary.json").read_text())["counts"] == {"passed": 1, "failed": 2, "cached": 0}
    assert not (out / batch.WORK_DIR).exists()
    for name in ("alice", "bob"):
        write(out / f"{name}.junit.xml", "<?xml?>")  # what the real grading run writes beside the result
    again = grade(STORM, [alice, bob, empty], out=out)
    assert graded == ["alice", "bob"] and [r.cached for r in again.results] == [True, True, False]
    write(bob / "stack" / "lb" / "default.conf", "proxy_buffer_size 16k;\n")  # new content is graded again
    third = grade(STORM, [bob], out=out)
    assert graded == ["alice", "bob", "bob"] and third.passed


def test_a_learners_instance_of_the_scenario_is_never_graded_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness import state

    monkeypatch.setenv("BREAKFIX_STATE_DIR", str(tmp_path / "state"))
    state.save(state.InstanceState(instance="502-storm", entry_id="502-storm", kind="scenario", phase="running"))
    with pytest.raises(BreakfixError, match="in use by a learner"):
        grade(STORM, [storm_workspace(tmp_path / "alice")], out=tmp_path / "out")


def test_the_grade_command_says_why_a_terraform_scenario_cannot_be_graded_from_files(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from harness import cli
    from harness.output import ExitCode

    result = CliRunner().invoke(cli.app, ["grade", "terraform-stale-lock", str(tmp_path)])
    assert result.exit_code == ExitCode.ERROR
    assert "terraform-stale-lock cannot be graded from a workspace archive" in result.output


def test_a_lab_batch_never_takes_a_scenario(tmp_path: Path) -> None:
    with pytest.raises(BreakfixError, match="is a scenario: its submissions are workspace archives"):
        batch.grade_batch(STORM, [tmp_path], out=tmp_path / "out", jobs=1)
