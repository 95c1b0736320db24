"""The in-container agents: standard library only, and they agree with the host on their markers."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from harness import agents
from harness.agents import constants

MODULES = sorted(agents.DIRECTORY.glob("*.py"))
# what an agent may import besides the standard library: its sibling constants, under either name
SIBLINGS = {"constants", constants.MODULE_NAME}


def imported_modules(path: Path) -> list[str]:
    """Every module a file imports, at any depth (a function-level import counts too); relative ones as '.name'."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append("." * node.level + (node.module or ""))
    return found


def test_the_package_holds_every_agent() -> None:
    names = {path.stem for path in MODULES}
    assert {"supervisor", "batch", "findings", "chaos_proxy", "restart_loop", "memory_hog", "cpu_hog", "constants"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_an_agent_imports_only_the_standard_library(path: Path) -> None:
    foreign = []
    for module in imported_modules(path):
        if module.startswith("."):
            if module.lstrip(".") not in SIBLINGS:
                foreign.append(module)
        elif module.split(".")[0] not in sys.stdlib_module_names and module not in SIBLINGS:
            foreign.append(module)
    assert not foreign, f"{path.name} imports {foreign}: agents run in containers with nothing but Python's standard library"


def test_an_agent_reads_the_constants_beside_it_outside_the_package(tmp_path: Path) -> None:
    """As in a container: the agent and the constants as plain files in one directory, no harness on the path."""
    for module, name in {"findings": "breakfix_findings.py", "constants": f"{constants.MODULE_NAME}.py"}.items():
        (tmp_path / name).write_bytes((agents.DIRECTORY / f"{module}.py").read_bytes())
    script = "import breakfix_findings as f; f.check('a')(lambda: None); f.report()"
    done = subprocess.run([sys.executable, "-E", "-s", "-c", script], cwd=tmp_path, env={"PYTHONPATH": str(tmp_path)},
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == constants.FINDINGS_MARK + '{"a": {"ok": true, "detail": ""}}'


def test_volumes_bind_each_agent_with_the_constants() -> None:
    binds = agents.volumes("/opt/breakfix", {"chaos_proxy": "chaos_proxy.py"})
    assert binds == {
        str(agents.DIRECTORY / "chaos_proxy.py"): {"bind": "/opt/breakfix/chaos_proxy.py", "mode": "ro"},
        str(agents.DIRECTORY / "constants.py"): {"bind": f"/opt/breakfix/{constants.MODULE_NAME}.py", "mode": "ro"},
    }
    assert all(Path(source).is_file() for source in binds)
