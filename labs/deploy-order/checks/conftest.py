"""The grader of deploy-order: plans (small ones with known answers, two of 100k resources), the
runs of the learner's program on them in the sandbox, and the grader's own notion of a right answer."""

from __future__ import annotations

import heapq
import json
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from graphlib import TopologicalSorter
from itertools import pairwise
from pathlib import Path
from types import ModuleType

import pytest

from harness.checks import CaseResult, InstanceContext, RunResult, Sandbox, cached_input

LAB = "deploy-order"
BIG = 100_000
PROGRAM = "/work/deploy_order.py"
Graph = dict[str, list[str]]


def plan_of(graph: Graph) -> bytes:
    return json.dumps({"resources": [{"name": name, "depends_on": deps} for name, deps in graph.items()]}).encode()


def expected_order(graph: Graph) -> list[str]:
    """The one right answer: whenever several are ready, the smallest name goes next."""
    sorter = TopologicalSorter({name: set(deps) for name, deps in graph.items()})
    sorter.prepare()
    ready: list[str] = list(sorter.get_ready())
    heapq.heapify(ready)
    order = []
    while ready:
        name = heapq.heappop(ready)
        order.append(name)
        sorter.done(name)
        for follower in sorter.get_ready():
            heapq.heappush(ready, follower)
    return order


def cycle_problem(stderr: str, graph: Graph) -> str | None:
    """None when stderr names a real cycle as `error: cycle: a -> b -> a`; otherwise what is wrong."""
    line = next((text for text in stderr.splitlines() if text.startswith("error: cycle: ")), None)
    if line is None:
        return f"expected a line `error: cycle: a -> ... -> a` on stderr, got {trim(stderr)!r}"
    names = [name.strip() for name in line.removeprefix("error: cycle: ").split(" -> ")]
    if len(names) < 2 or names[0] != names[-1]:
        return f"the cycle must start and end with the same resource: {trim(line)!r}"
    repeated = sorted({name for name in names[:-1] if names[:-1].count(name) > 1})
    if repeated:
        return f"{trim(line)!r} passes {repeated} more than once: name one cycle, each resource once (only the first repeated at the end)"
    for name, dep in pairwise(names):
        if dep not in graph.get(name, []):
            return f"{trim(line)!r} is not a cycle of the plan: {name!r} does not depend on {dep!r}"
    return None


def first_difference(expected: list[str], got: list[str]) -> str:
    for index, (want, have) in enumerate(zip(expected, got, strict=False)):  # lists of any lengths: the first difference
        if want != have:
            return f"line {index + 1}: expected {want!r}, got {have!r} (after {expected[max(0, index - 3):index]})"
    return f"expected {len(expected)} lines, got {len(got)}"


def trim(text: str, limit: int = 300) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


SMALL: dict[str, Graph | bytes] = {
    "readme": {"vpc": [], "subnet": ["vpc"], "db": ["subnet", "sg"], "sg": ["vpc"]},
    "ties": {"zeta": [], "alpha": [], "Beta": [], "gamma": ["alpha"], "delta": ["zeta"], "eta": ["Beta", "zeta"]},
    "diamond-duplicate-deps": {"d": ["b", "c", "c", "b"], "c": ["a"], "b": ["a"], "a": []},
    "empty": {},
    "cycle": {"vpc": [], "a": ["b", "vpc"], "b": ["c"], "c": ["a"], "d": ["vpc"]},
    "self-dependency": {"y": [], "x": ["x", "y"]},
    # resources stuck behind a cycle without being on it, so "every leftover resource, sorted"
    # (api -> app -> cache -> db -> web -> api) is not a cycle; the only one is app -> db -> cache -> app
    "cycle-behind-others": {"vpc": [], "web": ["app", "vpc"], "app": ["db"], "db": ["cache"], "cache": ["app"], "api": ["web"]},
    # two cycles sharing a resource: either one is right, a walk through both is not one cycle
    "figure-eight": {"hub": ["left", "right"], "left": ["hub"], "right": ["hub"]},
    "unknown-dependency": {"vpc": [], "app": ["vpc", "db2"]},
    "not-json": b'{"resources": [{"name": "vpc"',
    "no-resources-list": {"resources": {"vpc": {}}},  # type: ignore[dict-item]
    "duplicate-name": {"resources": [{"name": "vpc"}, {"name": "vpc"}]},  # type: ignore[dict-item]
    "depends-on-not-a-list": {"resources": [{"name": "vpc"}, {"name": "subnet", "depends_on": "vpc"}]},  # type: ignore[dict-item]
    "depends-on-not-strings": {"resources": [{"name": "vpc"}, {"name": "subnet", "depends_on": ["vpc", 7]}]},  # type: ignore[dict-item]
    "name-missing": {"resources": [{"depends_on": []}]},  # type: ignore[dict-item]
    "name-not-a-string": {"resources": [{"name": 42}]},  # type: ignore[dict-item]
    "name-empty": {"resources": [{"name": ""}]},  # type: ignore[dict-item]
}
RAW = {"not-json", "no-resources-list", "duplicate-name", "depends-on-not-a-list", "depends-on-not-strings", "name-missing",
       "name-not-a-string", "name-empty"}
CYCLES = ["cycle", "self-dependency", "cycle-behind-others", "figure-eight"]
ORDERED = {"readme", "ties", "diamond-duplicate-deps", "empty"}


def small_file(case: str) -> bytes:
    graph = SMALL[case]
    if isinstance(graph, bytes):
        return graph
    return json.dumps(graph).encode() if case in RAW else plan_of(graph)


def random_plan(seed: int = 8) -> Graph:
    """100k resources, each depending on up to 3 of the 5,000 before it in a hidden order;
    listed shuffled, with names whose sort order is unrelated to the dependency order."""
    rng = random.Random(seed)
    kinds = ["vpc", "subnet", "sg", "role", "bucket", "queue", "db", "cache", "svc", "dns"]
    names = [f"{rng.choice(kinds)}-{number:06d}" for number in rng.sample(range(10 * BIG), BIG)]
    graph = {}
    for index, name in enumerate(names):
        low = max(0, index - 5000)
        graph[name] = [names[rng.randrange(low, index)] for _ in range(rng.randint(0, 3))] if index else []
    items = list(graph.items())
    rng.shuffle(items)
    return dict(items)


def chain_names() -> list[str]:
    """A 100k-deep chain in dependency order (each depends on the one before), names not in sort order."""
    return [f"c{(index * 7919) % BIG:05d}" for index in range(BIG)]


def chain_plan() -> Graph:
    """The chain, listed from the top."""
    names = chain_names()
    return {names[index]: [names[index - 1]] if index else [] for index in reversed(range(BIG))}


@dataclass(frozen=True)
class BigPlan:
    """A generated plan, cached on disk (generating 100k resources costs seconds, verify grades
    four times), and its order when known by construction; otherwise the reference's output is it."""

    path: Path
    known_order: list[str] | None

    @classmethod
    def load(cls, name: str, generate: Callable[[], Graph], known_order: Callable[[], list[str]] | None = None) -> BigPlan:
        def build(partial: Path) -> None:
            partial.write_bytes(plan_of(generate()))

        return cls(cached_input(LAB, f"{name}-v1.json", build), known_order() if known_order else None)


@dataclass(frozen=True)
class BigRun:
    """The learner's run on a big plan, the expected order and the reference's time; or why it was not run."""

    result: RunResult | None
    expected: list[str] | None
    reference_seconds: float | None
    withheld: str | None = None

    @property
    def budget(self) -> float:
        return 3 * (self.reference_seconds or 0) + 5


def run_big(sandbox: Sandbox, instance: InstanceContext, plan: BigPlan, *, timed: bool) -> BigRun:
    """The learner's run; when it worked, the reference's run on the same plan if its order or its time is needed."""
    files: dict[str, Path] = {"plan.json": plan.path}
    result = sandbox.run(["python3", PROGRAM, "/grader/plan.json"], files=files)
    if not (result.ok and result.exit_code == 0):
        return BigRun(result, None, None)
    if plan.known_order is not None and not timed:
        return BigRun(result, plan.known_order, None)
    files["reference.py"] = instance.entry.directory / "solution" / "deploy_order.py"
    reference = sandbox.run(["python3", "/grader/reference.py", "/grader/plan.json"], files=files)
    assert reference.ok and reference.exit_code == 0, f"grader error: the reference failed: {reference.describe()}"
    return BigRun(result, plan.known_order or reference.stdout.splitlines(), reference.seconds)


@pytest.fixture(scope="session")
def small(sandbox: Sandbox) -> dict[str, CaseResult]:
    files = {f"{case}.json": small_file(case) for case in SMALL}
    batch, results = sandbox.run_batch({case: ["python3", PROGRAM, f"/grader/{case}.json"] for case in SMALL}, files=files)
    assert results, f"your program could not be run on the small plans: {batch.describe()}"
    return results


def small_failures(small: dict[str, CaseResult]) -> list[str]:
    """Small plans whose answer is wrong: an order plan not in the expected order, an error plan not exiting 1."""
    failing = []
    for case, graph in SMALL.items():
        outcome = small[case]
        ordered = case in ORDERED
        if (ordered and outcome.stdout.splitlines() != expected_order(graph)) or outcome.exit_code != (0 if ordered else 1):
            failing.append(case)
    return failing


@pytest.fixture(scope="session")
def big_random(sandbox: Sandbox, instance: InstanceContext, small: dict[str, CaseResult]) -> BigRun:
    if small_failures(small):
        return BigRun(None, None, None, f"not run until the small plans pass (failing: {', '.join(small_failures(small))})")
    return run_big(sandbox, instance, BigPlan.load("random", random_plan), timed=True)


@pytest.fixture(scope="session")
def deep_chain(sandbox: Sandbox, instance: InstanceContext, small: dict[str, CaseResult]) -> BigRun:
    if small_failures(small):
        return BigRun(None, None, None, f"not run until the small plans pass (failing: {', '.join(small_failures(small))})")
    return run_big(sandbox, instance, BigPlan.load("chain", chain_plan, chain_names), timed=False)  # depth, not speed: the sandbox's limit bounds it


@pytest.fixture(scope="session")
def grader() -> ModuleType:
    """This module: tests reach its helpers through a fixture (checks are not an importable package)."""
    return sys.modules[__name__]
