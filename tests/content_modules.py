"""Files of the content tree -- scenarios' checks, labs' programs -- imported as modules: they live in
directories, not packages, so a unit test of their logic loads them by path."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def load(relative: str, *, cached: bool = False) -> ModuleType:
    """The file at `relative` (from the repository root) as a module, registered in sys.modules under a name made
    from its path (its dataclasses look their module up there). A fresh copy each call, so one test's changes to
    module globals never reach the next; cached=True reuses the first, for tests that compare its classes."""
    name = "content_" + re.sub(r"\W", "_", relative.removesuffix(".py"))
    if not (cached and name in sys.modules):
        spec = importlib.util.spec_from_file_location(name, ROOT / relative)
        assert spec and spec.loader, relative
        module = sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return sys.modules[name]
