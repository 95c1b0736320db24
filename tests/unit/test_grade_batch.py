"""Batch grading's own logic: submission kinds and names, unpacking, content hashes and the re-run
skip, the summary (CSV, JSON, table lines). No engine: the e2e test grades real submissions."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from harness.catalog import find
from harness.errors import BreakfixError
from harness.grading import batch
from harness.grading.batch import Batch, Result, Submission
from harness.grading.batch_report import grouped_failures


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
    done = batch._finish(result("alice", [PASS], json_path=tmp_path / "alice.json"), "grader-1")
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
