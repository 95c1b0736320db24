"""The package's imports flow one way: cli -> lifecycle -> {runtime, faults, grading, settle} -> manifest.

Read with ast from the sources, imports inside functions included (a lazy import is still an edge);
only `if TYPE_CHECKING:` blocks are left out, since they never run.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "harness"

# Each module's layer, by longest matching name: an import goes to a lower layer, or stays inside its
# own package (harness.runtime.terraform -> harness.runtime.aws).
LAYERS = {
    "harness.__main__": 100,
    "harness.cli": 90,
    "harness.lifecycle": 80,
    "harness.doctor": 70,  # the CLI's: what each requirement's findings say
    "harness.checks": 70,  # the public check API, over grading and the runtimes
    "harness.grading": 60,
    "harness.instance": 57,  # an instance's workspace and runtimes, for the lifecycle and a standalone grading run
    "harness.catalog": 55,
    "harness.faults": 50,
    "harness.runtime": 40,
    "harness.probes": 40,
    "harness.images": 30,
    "harness.proofs": 30,
    "harness.settle": 25,
    "harness.state": 25,
    "harness.manifest": 20,
    "harness.registry": 15,  # plain data: the manifest takes the requirement names from it
    "harness.runtime.__init__": 10,  # the Runtime protocols and the Progress callback: no import of breakfix
    "harness.procs": 10,
    "harness.agents": 5,  # run inside containers: the standard library only (tests/unit/test_agents.py)
    "harness.timing": 5,
    "harness.sizes": 5,
    "harness.output": 5,
    "harness.paths": 5,
    "harness.errors": 0,
    "harness.__init__": 0,
}


def module_name(path: Path) -> str:
    return ".".join(("harness", *path.relative_to(PACKAGE).with_suffix("").parts))


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py")) if "content" not in path.relative_to(PACKAGE).parts}


def resolve(name: str) -> str | None:
    """The harness module an imported name lives in (a package is its __init__)."""
    while name:
        if name in MODULES:
            return name
        if f"{name}.__init__" in MODULES:
            return f"{name}.__init__"
        name = name.rpartition(".")[0]
    return None


def imports(module: str) -> set[str]:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    type_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for statement in node.body
        for inner in ast.walk(statement)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found.update(filter(None, (resolve(alias.name) for alias in node.names if alias.name.startswith("harness"))))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("harness"):
            assert node.module is not None
            # `from harness import state` imports the module harness.state, not the package
            submodules = [resolve(f"{node.module}.{alias.name}") for alias in node.names]
            named = [sub for sub in submodules if sub is not None and sub != resolve(node.module)]
            found.update(named if len(named) == len(node.names) else [*named, resolve(node.module) or node.module])
    found.discard(module)
    return found


GRAPH = {module: imports(module) for module in MODULES}


def layer(module: str, seen: tuple[str, ...] = ()) -> int:
    """Its place in LAYERS; a module not listed there sits just above what it imports (a new helper such as
    harness/timing.py needs no entry; one that reached up would land above its importers and fail below)."""
    for prefix in sorted(LAYERS, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return LAYERS[prefix]
    below = [layer(target, (*seen, module)) for target in GRAPH[module] if target not in seen]
    return max(below, default=0) + 1


def package(module: str) -> str | None:
    """The subpackage a module is part of (harness.runtime for harness.runtime.aws), None for a top-level module."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 else None


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_the_layers(module: str) -> None:
    upward = [
        target for target in sorted(GRAPH[module])
        if layer(target) >= layer(module) and (package(module) is None or package(target) != package(module))
    ]
    assert not upward, f"{module} (layer {layer(module)}) imports {', '.join(f'{t} (layer {layer(t)})' for t in upward)}"


def test_only_the_entry_point_imports_the_cli_and_only_the_cli_the_lifecycle() -> None:
    for module, targets in GRAPH.items():
        if "harness.cli" in targets:
            assert module == "harness.__main__", module
        if "harness.lifecycle" in targets:
            assert module == "harness.cli", module


def test_no_import_cycle() -> None:
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            raise AssertionError("import cycle: " + " -> ".join([*path[path.index(module):], module]))
        if module in done:
            return
        for target in sorted(GRAPH[module]):
            visit(target, [*path, module])
        done.add(module)

    for module in sorted(GRAPH):
        visit(module, [])


def test_the_reader_sees_lazy_imports() -> None:
    """A guard on the reader itself: the catalog loads the fault families inside a function."""
    assert "harness.faults.__init__" in GRAPH["harness.catalog"]
    assert "harness.runtime.docker" not in GRAPH["harness.catalog"]


def test_the_catalog_asks_the_registry_about_stacks_and_imports_no_runtime() -> None:
    """A new runtime's stack format is its own module's business, reached through harness.registry."""
    assert not [target for target in GRAPH["harness.catalog"] if target.startswith("harness.runtime")]
