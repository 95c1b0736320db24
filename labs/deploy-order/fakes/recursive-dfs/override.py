

# --- wrong implementation: a recursive cycle check before the (correct) ordering -------------
# (appended to the reference solution, whose deploy_order and PlanError it uses)
# ruff: noqa: F821
_ordered = deploy_order


def deploy_order(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = "open"
        path.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == "open":
                raise PlanError("cycle: " + " -> ".join(path[path.index(dep):] + [dep]))
            if dep not in state:
                visit(dep)
        path.pop()
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name)
    return _ordered(graph)
