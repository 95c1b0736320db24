"""The check API: checks reach breakfix only through harness.checks, and it keeps what it documents."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from harness import checks
from harness.grading import plugin

ROOT = Path(__file__).resolve().parents[2]
CHECK_FILES = sorted(path for kind in ("scenarios", "labs") for path in ROOT.glob(f"{kind}/*/checks/**/*.py"))


def harness_imports(tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):  # every import, also one inside a function
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.split(".")[0] == "harness"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "harness":
            found.append(node.module if node.module != "harness" else f"harness ({', '.join(a.name for a in node.names)})")
    return found


def test_there_are_check_files() -> None:
    assert len(CHECK_FILES) > 20


@pytest.mark.parametrize("path", CHECK_FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_a_check_file_imports_only_the_check_api(path: Path) -> None:
    others = [name for name in harness_imports(ast.parse(path.read_text(), str(path))) if name != "harness.checks"]
    assert not others, f"{path.relative_to(ROOT)} imports {others}: import from harness.checks only (add the name there if it is missing)"


@pytest.mark.parametrize("path", CHECK_FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_no_check_asks_for_the_old_lab_fixture(path: Path) -> None:
    functions = [node for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
    asking = [f.name for f in functions if "lab" in [a.arg for a in f.args.posonlyargs + f.args.args + f.args.kwonlyargs]]
    assert not asking, f"{path.relative_to(ROOT)}: {asking} take `lab`; the fixture is `instance` (an InstanceContext)"


def test_every_public_name_resolves() -> None:
    missing = []
    for name in checks.__all__:
        try:
            getattr(checks, name)
        except (AttributeError, ImportError) as exc:
            missing.append(f"{name}: {exc}")
    assert not missing


def test_the_public_list_is_the_eager_names_and_the_lazy_ones() -> None:
    eager = {name for name in vars(checks) if not name.startswith("_")} - {"annotations", "import_module", "TYPE_CHECKING", "Any"}
    assert sorted(checks.__all__) == sorted(eager | set(checks._LAZY))


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_helper"):
        checks.no_such_helper  # noqa: B018


def test_the_docstring_names_every_public_name_and_fixture() -> None:
    doc = checks.__doc__ or ""
    fixtures = [
        node.name
        for node in ast.parse(Path(plugin.__file__).read_text()).body
        if isinstance(node, ast.FunctionDef) and any("fixture" in ast.unparse(d) for d in node.decorator_list)
    ]
    assert fixtures
    undocumented = [name for name in [*checks.__all__, *fixtures] if name not in doc]
    assert not undocumented


def test_importing_it_loads_neither_boto3_nor_the_kubernetes_client() -> None:
    """A Docker scenario's checks pay for neither."""
    code = "import sys, harness.checks; print(sorted(m for m in ('boto3', 'kubernetes', 'harness.lifecycle') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "[]"
