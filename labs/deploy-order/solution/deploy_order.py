"""Print a deployment order for a JSON plan of resources and their dependencies.

usage: python3 deploy_order.py PLAN.json      (see README.md for the full contract)

Kahn's algorithm with a min-heap of ready names gives the order and the tie-break in
O((V + E) log V); when resources are left over there is a cycle among them, and an iterative
walk along their remaining dependencies finds one to name. No recursion anywhere: chains are
100,000 deep.
"""

from __future__ import annotations

import heapq
import json
import sys


class PlanError(Exception):
    """Why there is no deployment order; the message is the stderr line after `error: `."""


def load_plan(path: str) -> dict[str, set[str]]:
    """name -> the names it depends on, validated."""
    try:
        with open(path, encoding="utf-8") as stream:
            plan = json.load(stream)
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(f"invalid plan: cannot read {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise PlanError(f"invalid plan: not JSON: {exc}") from None
    if not isinstance(plan, dict) or not isinstance(plan.get("resources"), list):
        raise PlanError("invalid plan: expected an object with a 'resources' list")
    graph: dict[str, set[str]] = {}
    for index, resource in enumerate(plan["resources"]):
        name = resource.get("name") if isinstance(resource, dict) else None
        if not isinstance(name, str) or not name:
            raise PlanError(f"invalid plan: resource #{index} has no string 'name'")
        if name in graph:
            raise PlanError(f"invalid plan: duplicate resource name {name!r}")
        depends_on = resource.get("depends_on", [])
        if not isinstance(depends_on, list) or not all(isinstance(dep, str) for dep in depends_on):
            raise PlanError(f"invalid plan: 'depends_on' of {name!r} must be a list of names")
        graph[name] = set(depends_on)
    for name, deps in graph.items():
        for dep in sorted(deps):
            if dep not in graph:
                raise PlanError(f"unknown dependency: {name!r} depends on {dep!r}")
    return graph


def deploy_order(graph: dict[str, set[str]]) -> list[str]:
    waiting = {name: len(deps) for name, deps in graph.items()}
    dependents: dict[str, list[str]] = {name: [] for name in graph}
    for name, deps in graph.items():
        for dep in deps:
            dependents[dep].append(name)
    ready = [name for name, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        name = heapq.heappop(ready)
        order.append(name)
        for dependent in dependents[name]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                heapq.heappush(ready, dependent)
    if len(order) < len(graph):
        raise PlanError("cycle: " + " -> ".join(find_cycle(graph, {n for n, c in waiting.items() if c > 0})))
    return order


def find_cycle(graph: dict[str, set[str]], stuck: set[str]) -> list[str]:
    """Every stuck resource still waits on a stuck dependency, so walking from one always
    revisits a resource; the walk from its first visit is a cycle."""
    node = min(stuck)
    seen: dict[str, int] = {}
    path: list[str] = []
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = min(dep for dep in graph[node] if dep in stuck)
    return path[seen[node]:] + [node]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: deploy_order.py PLAN.json", file=sys.stderr)
        return 2
    try:
        order = deploy_order(load_plan(argv[1]))
    except PlanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write("".join(name + "\n" for name in order))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
