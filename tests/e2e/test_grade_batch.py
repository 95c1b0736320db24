"""`breakfix grade` on the real engine: four rate-limiter submissions (the reference, the no-lock fake,
one that crashes at import as a tarball, one that loops forever at import) with --jobs 2. Each ends in
its own result, the batch goes on, a re-run grades nothing again, and no sandbox object is left.
Slow on a loaded 2-core machine: the looping one waits out the lab's own ready timeouts."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from harness.catalog import find
from harness.runtime.docker import connect

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.uses("rate-limiter")]


def leftover_sandboxes(*names: str) -> list[str]:
    """Containers of these submissions' grading instances (`grade-<name>-<hash>`), none of another batch's."""
    # the list call's summaries, no inspect per container: another batch's may be gone by then
    summaries = connect().api.containers(all=True, filters={"label": "breakfix.instance"})
    prefixes = tuple(f"grade-{name}-" for name in names)
    return [s["Names"][0] for s in summaries if (s.get("Labels") or {}).get("breakfix.instance", "").startswith(prefixes)]


def make_submissions(root: Path) -> list[Path]:
    lab = find("rate-limiter").directory  # the installed copy
    reference, no_lock, crashing, looping = (root / name for name in ("reference", "no-lock", "crashing", "looping"))
    for folder in (reference, no_lock, crashing, looping):
        folder.mkdir(parents=True)
    shutil.copy(lab / "solution" / "ratelimit.py", reference)
    shutil.copy(lab / "solution" / "ratelimit.py", no_lock)
    subprocess.run(["bash", str(lab / "fakes" / "no-lock.sh")], env={**os.environ, "BREAKFIX_WORKSPACE": str(no_lock)}, check=True)
    (crashing / "ratelimit.py").write_text('raise SystemExit("boom: crashed at import")\n')
    with tarfile.open(root / "crashing.tgz", "w:gz") as archive:
        archive.add(crashing, arcname="crashing")
    (looping / "ratelimit.py").write_text("while True:\n    pass\n")
    return [reference, no_lock, root / "crashing.tgz", looping]


def grade(paths: list[Path], out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", "grade", "rate-limiter", *map(str, paths), "--jobs", "2",
                           "--out", str(out), "--json", *extra],
                          capture_output=True, text=True, timeout=900, env={**os.environ, "COLUMNS": "120"}, check=False)


def test_grade_four_submissions_in_parallel(tmp_path: Path) -> None:
    paths = make_submissions(tmp_path / "subs")
    out = tmp_path / "out"
    result = grade(paths, out)
    assert result.returncode == 1, result.stderr[-2000:]
    document = json.loads(result.stdout)
    assert (document["schema_version"], document["command"], document["passed"], document["jobs"]) == (1, "grade", False, 2)
    by_name = {s["submission"]: s for s in document["submissions"]}
    assert list(by_name) == ["reference", "no-lock", "crashing", "looping"]
    assert by_name["reference"]["passed"] is True and by_name["reference"]["failed"] == []
    assert [f["id"] for f in by_name["no-lock"]["failed"]] == ["test_exact_when_threads_switch_inside_the_middleware"]
    assert by_name["crashing"]["kind"] == "tarball" and by_name["crashing"]["passed"] is False
    assert by_name["crashing"]["counts"]["passed"] == 0
    assert all("boom: crashed at import" in f["message"] for f in by_name["crashing"]["failed"])
    assert by_name["looping"]["passed"] is False and by_name["looping"]["counts"]["passed"] == 0
    for name in by_name:
        assert (out / f"{name}.junit.xml").read_text().startswith("<?xml")
        assert json.loads((out / f"{name}.json").read_text())["grade"]["entry"] == "rate-limiter"
    assert (out / "summary.csv").read_text().splitlines()[0].startswith("submission,passed,passed_conditions,failed_conditions")
    assert "grading 4 submission(s) of rate-limiter with 2 job(s)" in result.stderr and "Traceback" not in result.stderr
    assert leftover_sandboxes(*by_name) == []

    again = grade(paths, out)  # the same contents: nothing is graded again
    rerun = json.loads(again.stdout)
    assert again.returncode == 1 and rerun["counts"]["cached"] == 4
    assert [s["passed"] for s in rerun["submissions"]] == [True, False, False, False]


def test_ctrl_c_stops_and_removes_every_sandbox(tmp_path: Path) -> None:
    looping = tmp_path / "looping"
    looping.mkdir()
    (looping / "ratelimit.py").write_text("while True:\n    pass\n")
    process = subprocess.Popen([sys.executable, "-m", "harness", "grade", "rate-limiter", str(looping), "--out", str(tmp_path / "out")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not leftover_sandboxes("looping") and time.monotonic() < deadline:
        time.sleep(0.5)
    assert leftover_sandboxes("looping"), "the grading run never started a sandbox container"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-2000:]
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert leftover_sandboxes("looping") == []
