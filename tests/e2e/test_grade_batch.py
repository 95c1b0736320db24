"""`breakfix grade` on the real engine: four rate-limiter submissions (the reference, the no-lock fake,
one that crashes at import as a tarball, one that loops forever at import) with --jobs 2. Each ends in
its own result, the batch goes on, a re-run grades nothing again, and no sandbox object is left.
Slow on a loaded 2-core machine: the looping one waits out the lab's own ready timeouts.

And four 502-storm workspace archives, each graded on the scenario provisioned and broken afresh."""

from __future__ import annotations

import json
import os
import re
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

pytestmark = [pytest.mark.docker, pytest.mark.slow]


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


@pytest.mark.uses("rate-limiter")
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


@pytest.mark.uses("rate-limiter")
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


# -- a scenario: workspace archives of 502-storm -------------------------------------------------------

def storm_workspaces(root: Path) -> list[Path]:
    """Candidates' workspaces as `tar -C "$BREAKFIX_WORKSPACE" ... stack` would hold them: the config as
    handed over (broken), the shipped config restored (a git repository), another correct buffer size
    (a tarball, with an edited compose.yaml that is not applied), and the never-eject fake."""
    storm = find("502-storm")
    [drift] = [fault for fault in storm.manifest.faults if fault.kind == "file-drift"]  # type: ignore[attr-defined]
    healthy = (storm.directory / "stack" / "lb" / "default.conf").read_text()
    broken = healthy
    for old, new in drift.params["replace"].items():
        broken = broken.replace(old, new)
    configs = {
        "untouched": broken,
        "restored": healthy,
        "bigger-buffers": re.sub(r"proxy_busy_buffers_size \d+k;", "proxy_busy_buffers_size 64k;",
                                 re.sub(r"proxy_buffers \d+ \d+k;", "proxy_buffers 8 32k;",
                                        re.sub(r"proxy_buffer_size \d+k;", "proxy_buffer_size 32k;", broken))),
        "never-eject": re.sub(r"max_fails=\d+", "max_fails=0", broken),
    }
    assert configs["never-eject"] != broken and "proxy_buffer_size 32k;" in configs["bigger-buffers"]
    paths = []
    for name, config in configs.items():
        workspace = root / name
        shutil.copytree(storm.directory / "stack", workspace / "stack")
        (workspace / "stack" / "lb" / "default.conf").write_text(config)
        paths.append(workspace)
    compose = paths[2] / "stack" / "compose.yaml"
    compose.write_text(compose.read_text().replace("mem_limit: 128m", "mem_limit: 1g"))
    with tarfile.open(root / "bigger-buffers.tgz", "w:gz") as archive:
        archive.add(paths[2] / "stack", arcname="stack")
    paths[2] = root / "bigger-buffers.tgz"
    subprocess.run(["git", "init", "-q", str(paths[1])], check=True)
    subprocess.run(["git", "-C", str(paths[1]), "add", "."], check=True)
    subprocess.run(["git", "-C", str(paths[1]), "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "restored"], check=True)
    return paths


def storm_containers() -> list[str]:
    return [s["Names"][0] for s in connect().api.containers(all=True, filters={"label": "breakfix.instance=502-storm"})]


@pytest.mark.uses("502-storm")
def test_grade_502_storm_workspace_archives_one_after_another(tmp_path: Path) -> None:
    paths = storm_workspaces(tmp_path / "subs")
    out = tmp_path / "out"

    def grade_storm(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "harness", "grade", "502-storm", *map(str, paths), "--out", str(out), "--json", *extra],
                              capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "120"}, check=False)

    started = time.monotonic()
    result = grade_storm("--jobs", "4")
    seconds = time.monotonic() - started
    assert result.returncode == 1, result.stderr[-3000:]
    document = json.loads(result.stdout)
    assert (document["command"], document["jobs"], document["passed"]) == ("grade", 1, False)
    by_name = {s["submission"]: s for s in document["submissions"]}
    assert list(by_name) == ["untouched", "restored", "bigger-buffers", "never-eject"]
    assert [by_name[name]["kind"] for name in by_name] == ["directory", "git", "tarball", "directory"]
    assert {name: s["passed"] for name, s in by_name.items()} == {"untouched": False, "restored": True, "bigger-buffers": True,
                                                                 "never-eject": False}
    for name in ("untouched", "never-eject"):
        assert "test_no_server_errors_under_load" in [f["id"] for f in by_name[name]["failed"]], by_name[name]
    for name in by_name:
        assert (out / f"{name}.junit.xml").read_text().startswith("<?xml")
        if Path("/sys/fs/cgroup/memory").is_dir():  # cgroup v1 keeps each container's peak
            assert by_name[name]["peak_memory_bytes"] > 2**20, by_name[name]
    stderr = result.stderr
    assert "one after another (502-storm publishes fixed ports: 127.0.0.1:8080); --jobs does not apply" in stderr
    assert "bigger-buffers:   not applied: compose.yaml (the stack definition is the scenario's)" in stderr
    assert "restored:   1 file(s) changed; restarting lb" in stderr and "untouched:   0 file(s) changed; restarting nothing" in stderr
    assert "Traceback" not in stderr
    assert storm_containers() == []
    print(f"graded 4 502-storm workspaces in {seconds:.1f}s")

    again = grade_storm()  # the same contents: nothing is provisioned again
    assert again.returncode == 1 and json.loads(again.stdout)["counts"]["cached"] == 4, again.stderr[-2000:]
    assert "provision" not in again.stderr
