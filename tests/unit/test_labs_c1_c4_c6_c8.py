"""The reference solutions and grader helpers of labs C1 log-top-ips, C4 kv-ttl, C6 alert-dedup
and C8 deploy-order, in-process (the graders run them in sandbox containers; `breakfix verify`
proves the labs end to end in tests/e2e/test_labs_verify.py)."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import weakref
from pathlib import Path
from types import ModuleType

import pytest

from tests import content_modules

LABS = Path(__file__).resolve().parents[2] / "labs"


def lab_module(lab: str, relative: str) -> ModuleType:
    return content_modules.load(f"labs/{lab}/{relative}", cached=True)


def run_reference(lab: str, program: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(LABS / lab / "solution" / program), *args], capture_output=True, text=True, check=False, timeout=120)


# -- C1 log-top-ips -------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["basic", "malformed-kinds", "ipv6-spellings", "ties", "top-ten-of-twelve", "crlf-and-no-final-newline", "empty-file"])
def test_top_ips_reference_on_the_small_logs(tmp_path: Path, case: str) -> None:
    grader = lab_module("log-top-ips", "checks/conftest.py")
    content, expected, malformed = grader.SMALL[case]
    log = tmp_path / "access.log"
    log.write_bytes(content)
    done = run_reference("log-top-ips", "top_ips.py", str(log))
    assert (done.returncode, done.stdout.splitlines(), done.stderr.strip()) == (0, expected, f"malformed: {malformed}")


def test_top_ips_generator_is_deterministic_and_its_answer_right(tmp_path: Path) -> None:
    grader = lab_module("log-top-ips", "checks/conftest.py")
    first, second = tmp_path / "a.log", tmp_path / "b.log"
    top, malformed = grader.generate(first, 12)
    assert grader.generate(second, 12) == (top, malformed)
    assert first.read_bytes() == second.read_bytes()
    assert [line.split()[1] for line in top[4:6]] == ["9.9.9.9", "10.0.0.1"]  # a tie, in numeric order
    done = run_reference("log-top-ips", "top_ips.py", str(first))
    assert done.stdout.splitlines() == top and done.stderr.strip() == f"malformed: {malformed}"


# -- C4 kv-ttl ------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Value:
    pass


def test_kv_reference_expires_exactly_and_releases_values() -> None:
    clock = Clock()
    store = lab_module("kv-ttl", "solution/kvstore.py").KVStore(clock=clock)
    value = Value()
    watcher = weakref.ref(value)
    store.set("k", value, ttl=5)
    del value
    clock.now = 1004.999
    assert store.get("k") is watcher()
    clock.now = 1005.0
    assert store.get("other") is None
    gc.collect()
    assert watcher() is None and len(store) == 0


def test_kv_reference_heap_stays_small_under_overwrites() -> None:
    store = lab_module("kv-ttl", "solution/kvstore.py").KVStore(clock=Clock())
    for index in range(10_000):
        store.set(f"k{index % 10}", index, ttl=100)
    assert len(store._heap) <= 2 * 10 + 64 + 1
    assert store.incr("k3") == 9994 and store.ttl("k3") == 100


def test_kv_reference_refuses_bools_and_floats_and_changes_nothing() -> None:
    store = lab_module("kv-ttl", "solution/kvstore.py").KVStore(clock=Clock())
    for ttl in (True, False):
        with pytest.raises(ValueError):
            store.set("k", 1, ttl=ttl)
    assert store.get("k") is None
    store.set("n", 10, ttl=50)
    for delta in (1.5, True):
        with pytest.raises(TypeError):
            store.incr("n", delta)
    store.set("f", 2.0)
    with pytest.raises(TypeError):
        store.incr("f")
    assert (store.get("n"), store.ttl("n"), store.get("f")) == (10, 50, 2.0)


# -- C6 alert-dedup -------------------------------------------------------------------------------


def test_dedup_reference_stream_ends_at_flush_and_rejects_change_nothing() -> None:
    dedup = lab_module("alert-dedup", "solution/dedup.py").Deduplicator()
    dedup.push({"ts": 1000, "source": "api", "name": "Up"})
    for bad in ({"ts": 1e9, "source": "api", "name": "X", "labels": None}, {"ts": 10, "source": "", "name": "X"}):
        with pytest.raises(ValueError):
            dedup.push(bad)
    assert dedup.dropped_late == 0 and [a["ts"] for a in dedup.push({"ts": 970, "source": "db", "name": "Down"})] == []
    assert [a["ts"] for a in dedup.flush()] == [970, 1000]
    with pytest.raises(RuntimeError):
        dedup.push({"ts": 2000, "source": "api", "name": "Up"})
    assert dedup.flush() == []


def test_dedup_reference_readme_example() -> None:
    dedup = lab_module("alert-dedup", "solution/dedup.py").Deduplicator()
    pushed = [dedup.push({"ts": ts, "source": "api", "name": "HighLatency"}) for ts in (100, 130, 90)]
    assert pushed == [[], [], []]
    assert [a["ts"] for a in dedup.push({"ts": 151, "source": "db", "name": "Down"})] == [90]
    assert [a["ts"] for a in dedup.flush()] == [151]


def test_dedup_reference_forgets_old_keys() -> None:
    dedup = lab_module("alert-dedup", "solution/dedup.py").Deduplicator()
    for index in range(20_000):
        dedup.push({"ts": index * 0.1, "source": "node", "name": "DiskFull", "labels": {"host": f"h{index // 4}"}})
    assert len(dedup._last_emitted) < 1000 and len(dedup._pending) < 700


# -- C8 deploy-order ------------------------------------------------------------------------------


def test_deploy_order_grader_knows_a_real_cycle() -> None:
    grader = lab_module("deploy-order", "checks/conftest.py")
    graph = grader.SMALL["cycle"]
    assert grader.cycle_problem("error: cycle: b -> c -> a -> b", graph) is None
    assert "does not depend" in grader.cycle_problem("error: cycle: a -> c -> b -> a", graph)
    assert "start and end" in grader.cycle_problem("error: cycle: a -> b -> c", graph)
    behind = grader.SMALL["cycle-behind-others"]
    assert grader.cycle_problem("error: cycle: db -> cache -> app -> db", behind) is None
    assert "does not depend" in grader.cycle_problem("error: cycle: api -> app -> cache -> db -> web -> api", behind)
    eight = grader.SMALL["figure-eight"]
    assert grader.cycle_problem("error: cycle: right -> hub -> right", eight) is None
    assert "more than once" in grader.cycle_problem("error: cycle: hub -> left -> hub -> right -> hub", eight)


@pytest.mark.parametrize("case", ["readme", "ties", "diamond-duplicate-deps", "cycle", "self-dependency", "cycle-behind-others",
                                  "figure-eight", "unknown-dependency", "not-json", "name-empty", "depends-on-not-strings"])
def test_deploy_order_reference_on_the_small_plans(tmp_path: Path, case: str) -> None:
    grader = lab_module("deploy-order", "checks/conftest.py")
    plan = tmp_path / "plan.json"
    plan.write_bytes(grader.small_file(case))
    done = run_reference("deploy-order", "deploy_order.py", str(plan))
    graph = grader.SMALL[case]
    if case in grader.CYCLES:
        assert done.returncode == 1 and grader.cycle_problem(done.stderr, graph) is None
    elif case not in grader.ORDERED:
        assert done.returncode == 1 and done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    else:
        assert done.stdout.splitlines() == grader.expected_order(graph)


def test_deploy_order_reference_survives_a_deep_chain(tmp_path: Path) -> None:
    grader = lab_module("deploy-order", "checks/conftest.py")
    graph = {f"n{index:05d}": [f"n{index - 1:05d}"] if index else [] for index in range(20_000)}
    plan = tmp_path / "chain.json"
    plan.write_text(json.dumps({"resources": [{"name": n, "depends_on": d} for n, d in reversed(graph.items())]}))
    done = run_reference("deploy-order", "deploy_order.py", str(plan))
    assert done.returncode == 0 and done.stdout.splitlines() == grader.expected_order(graph)
