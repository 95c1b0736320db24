"""Finds scenarios/ and labs/, loads and validates their manifests and the files they reference."""

from __future__ import annotations

import ast
import os
import shutil
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from harness import registry
from harness.errors import BreakfixError
from harness.manifest import (
    MANIFEST_FILES,
    SLUG,
    AnyManifest,
    LabManifest,
    ScenarioManifest,
    load_manifest,
    read_text,
)
from harness.paths import content_root

KIND_DIRS = {"scenario": "scenarios", "lab": "labs"}


@dataclass(frozen=True)
class Entry:
    """A scenario or lab on disk: its validated manifest and where its files are."""

    manifest: AnyManifest
    directory: Path

    @property
    def id(self) -> str:
        return self.manifest.id

    @property
    def kind(self) -> str:
        return self.manifest.kind

    @property
    def manifest_file(self) -> Path:
        return self.directory / ("scenario.yaml" if self.kind == "scenario" else "lab.yaml")

    @property
    def brief(self) -> Path:
        return self.directory / "README.md"

    @property
    def checks_dir(self) -> Path:
        return self.directory / "checks"

    @property
    def solve_script(self) -> Path:
        return self.directory / "solution" / "solve.sh"

    @property
    def solution_doc(self) -> Path:
        return self.directory / "solution" / "SOLUTION.md"

    @cached_property
    def hint_files(self) -> list[Path]:
        if self.manifest.hints:
            return [self.directory / name for name in self.manifest.hints]
        return sorted((self.directory / "hints").glob("*.md"))

    @property
    def stack_file(self) -> Path | None:
        if isinstance(self.manifest, ScenarioManifest):
            return self.directory / self.manifest.stack
        return None

    def referenced(self) -> list[tuple[str, Path]]:
        """Every file the manifest points at, with the field that names it."""
        files = [("README.md", self.brief), ("solution/solve.sh", self.solve_script), ("solution/SOLUTION.md", self.solution_doc)]
        files += [(f"hints[{index}]", path) for index, path in enumerate(self.hint_files)]
        files += [(f"fake_fixes[{index}].script", self.directory / fake.script) for index, fake in enumerate(self.manifest.fake_fixes)]
        if isinstance(self.manifest, ScenarioManifest) and not (self.directory / self.manifest.stack).is_dir():
            files.append(("stack", self.directory / self.manifest.stack))  # a directory is a manifests stack, checked below
        if isinstance(self.manifest, LabManifest):
            files.append(("entry", self.directory / "starter" / self.manifest.entry))
        return files


TEXT_FIELDS = ("README.md", "solution/SOLUTION.md", "hints")  # prose the CLI prints: it must decode


def validate_entry(entry: Entry) -> None:
    """Problems a manifest schema cannot see: missing files or ones leading outside the entry, an empty
    grader, confirm naming no check, faults and stacks that would fail only at start. Raises the first."""
    for problem in entry_problems(entry):
        raise BreakfixError(problem)


def entry_problems(entry: Entry) -> Iterator[str]:
    """Every problem of validate_entry, one line each, in order: the catalog stops at the first, `breakfix
    lint` reports them all. Each step runs even after another failed, unless it reads what that one refused."""
    files_ok = yield from _problem_of(_validate_files, entry)
    checks = sorted(entry.checks_dir.glob("test_*.py"))
    checks_ok = yield from _problem_of(_validate_checks, entry, checks)
    yield from _problem_of(_validate_hints, entry)
    if isinstance(entry.manifest, ScenarioManifest):
        if checks_ok:
            yield from _problem_of(_validate_confirm, entry, entry.manifest, checks)
        yield from _problem_of(_validate_faults, entry, entry.manifest)
        if files_ok:  # a missing stack file is already named
            yield from _problem_of(_validate_stack, entry, entry.manifest)
    if isinstance(entry.manifest, LabManifest):
        yield from _problem_of(_validate_lab, entry, entry.manifest)


def _problem_of(step: Callable[..., None], *args: Any) -> Generator[str, None, bool]:
    """Runs one validation step: yields its problem, returns whether it had none."""
    try:
        step(*args)
    except BreakfixError as exc:
        yield str(exc)
        return False
    return True


def _validate_files(entry: Entry) -> None:
    for field, path in entry.referenced():
        _inside(entry, field, path)
    missing = [(field, path) for field, path in entry.referenced() if not path.is_file()]
    if missing:
        names = ", ".join(f"{path.relative_to(entry.directory)} ({field})" for field, path in missing)
        raise BreakfixError(f"{entry.manifest_file}: missing file(s) referenced by the manifest: {names}")
    for field, path in entry.referenced():
        if field.startswith(TEXT_FIELDS):
            read_text(path)


def _validate_checks(entry: Entry, checks: list[Path]) -> None:
    if not checks:
        raise BreakfixError(f"{entry.directory}/checks: no test_*.py -- a scenario without checks cannot be graded")
    for check in checks:
        _inside(entry, "checks", check)
    check_functions(checks)  # parseable


def _validate_hints(entry: Entry) -> None:
    if not entry.hint_files:
        raise BreakfixError(f"{entry.directory}: no hints (hints/01.md, ...)")


def _inside(entry: Entry, field: str, path: Path) -> None:
    """A referenced file must not lead out of the entry directory, through `..` or a symlink."""
    try:
        inside = path.resolve().is_relative_to(entry.directory.resolve())
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
        raise BreakfixError(f"{entry.manifest_file}: {field}: {path.relative_to(entry.directory)} cannot be resolved: {exc}") from None
    if not inside:
        raise BreakfixError(f"{entry.manifest_file}: {field}: {path.relative_to(entry.directory)} leads outside the entry directory")


def check_functions(checks: list[Path]) -> set[str]:
    """The test functions the check files define, read with ast: loading the catalog imports no check."""
    return {node.name for _, node in check_nodes(checks)}


def check_nodes(checks: list[Path]) -> Iterator[tuple[Path, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Each test function pytest would collect from the check files (module level, and in Test classes), with its file."""
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    for check in checks:
        try:
            tree = ast.parse(read_text(check), filename=str(check))
        except SyntaxError as exc:
            raise BreakfixError(f"{check}: line {exc.lineno}: invalid Python: {exc.msg}") from None
        except (ValueError, RecursionError):  # a NUL byte, or nesting deeper than the parser takes
            raise BreakfixError(f"{check}: not parseable as Python") from None
        for node in tree.body:
            if isinstance(node, functions) and node.name.startswith("test"):
                yield check, node
            elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                yield from ((check, item) for item in node.body if isinstance(item, functions) and item.name.startswith("test"))


def _validate_confirm(entry: Entry, manifest: ScenarioManifest, checks: list[Path]) -> None:
    unknown = [name for name in manifest.confirm.failing if name not in check_functions(checks)]
    if unknown:
        raise BreakfixError(f"{entry.manifest_file}: confirm.failing: no check named {', '.join(unknown)} in checks/test_*.py")


def _validate_stack(entry: Entry, manifest: ScenarioManifest) -> None:
    where = entry.manifest_file
    stack_checks = registry.stack_checks(manifest.requires)
    if not stack_checks:
        raise BreakfixError(f"{where}: requires: a scenario needs a runtime for its stack ({', '.join(registry.stack_providers())})")
    stack = entry.directory / manifest.stack
    _inside(entry, "stack", stack)
    for check_stack in stack_checks:  # the runtime that provisions the stack knows its format
        check_stack(registry.StackCheck(where, stack, manifest, lambda field, path: _inside(entry, field, path)))


def _validate_faults(entry: Entry, manifest: ScenarioManifest) -> None:
    """Each fault's kind and parameters, with the fault's own model, as start would build them."""
    from harness.faults import build  # the fault families load here, not when the CLI starts

    for index, spec in enumerate(manifest.faults):
        try:
            fault = build(spec, index)
        except BreakfixError as exc:
            raise BreakfixError(f"{entry.manifest_file}: {exc}") from None
        for field in ("service", "reload_service"):
            service = getattr(fault.params, field, None)
            if service is not None and service not in manifest.services:
                raise BreakfixError(f"{entry.manifest_file}: faults[{index}].params.{field}: {service!r} is not one of services {manifest.services}")


def _validate_lab(entry: Entry, manifest: LabManifest) -> None:
    """A lab's learner code runs in a sandbox container, and verify swaps starter for solution."""
    directory = entry.directory
    runners = [name for name in registry.names() if "lab" in registry.REGISTRY[name].factories]  # docker: the sandbox
    if not set(runners) & set(manifest.requires):
        raise BreakfixError(f"{directory}/lab.yaml: requires: must include {' or '.join(runners)} -- learner code is graded in a sandbox container")
    reference = directory / "solution" / manifest.entry
    _inside(entry, "entry", reference)
    if not reference.is_file():
        raise BreakfixError(f"{directory}/solution/{manifest.entry}: missing -- the reference implementation of the entry file")


def load_entry(directory: Path) -> Entry:
    for name in MANIFEST_FILES:
        path = directory / name
        if path.is_file():
            entry = Entry(manifest=load_manifest(path), directory=directory)
            validate_entry(entry)
            return entry
    raise BreakfixError(f"{directory}: no scenario.yaml or lab.yaml")


EXTRA_PATHS: list[Path] = []  # `--path` options of this command, after BREAKFIX_PATH
PIN = "entry"  # an external entry's copy inside its instance's state directory


def external_bases() -> list[Path]:
    """Catalog directories beside the built-in one: BREAKFIX_PATH (colon-separated), then `--path`."""
    listed = [Path(part) for part in os.environ.get("BREAKFIX_PATH", "").split(":") if part]
    return [path.resolve() for path in [*listed, *EXTRA_PATHS]]


def add_path(directory: Path) -> None:
    """A `--path` directory: it must hold scenarios/ or labs/ (a typo would otherwise add nothing, silently)."""
    if not any((directory / folder).is_dir() for folder in KIND_DIRS.values()):
        raise BreakfixError(f"{directory}: no scenarios/ or labs/ in it -- a catalog directory holds those (`breakfix new --dir {directory}` makes one)")
    EXTRA_PATHS.append(directory)


def kind_roots(base: Path | None = None) -> list[tuple[str, Path]]:
    """(kind, folder) of every place entries are found: the built-in catalog (or `base`), then the external ones."""
    bases = [base] if base is not None else [content_root(), *external_bases()]
    return [(kind, directory / folder) for directory in bases for kind, folder in KIND_DIRS.items()]


def roots(base: Path | None = None) -> list[Path]:
    return [root for _, root in kind_roots(base)]


def _directories(base: Path | None) -> dict[str, list[Path]]:
    """Every entry directory by its name (the id), in root order; more than one is a duplicate id."""
    found: dict[str, list[Path]] = {}
    for root in roots(base):
        if root.is_dir():
            for directory in sorted(path for path in root.iterdir() if path.is_dir() and not path.name.startswith((".", "_"))):
                if directory not in found.get(directory.name, []):
                    found.setdefault(directory.name, []).append(directory)
    return found


def _duplicate(entry_id: str, places: list[Path]) -> str:
    return (f"{places[-1]}: duplicate id {entry_id!r}, also at {', '.join(str(place) for place in places[:-1])} -- "
            "ids must be unique across the built-in catalog, BREAKFIX_PATH and --path: rename one")


def scan(base: Path | None = None) -> tuple[list[Entry], list[str]]:
    """Every valid entry sorted by kind then id, and one error line per invalid one."""
    entries, problems = [], []
    for entry_id, places in _directories(base).items():
        if len(places) > 1:
            problems.append(_duplicate(entry_id, places))
            continue
        directory = places[0]
        try:
            entries.append(load_entry(directory))
        except BreakfixError as exc:
            problems.append(str(exc))
        except Exception as exc:  # noqa: BLE001 -- a bug in validation must not hide the rest of the catalog
            problems.append(f"{directory}: breakfix could not validate this entry ({type(exc).__name__}: {' '.join(str(exc).split())}) -- a breakfix bug, please report it")
    return sorted(entries, key=lambda entry: (entry.kind, entry.id)), problems


def discover(base: Path | None = None) -> list[Entry]:
    """Every entry; an invalid one raises -- a catalog never hides a bad manifest."""
    entries, problems = scan(base)
    if problems:
        raise BreakfixError("\n".join(problems))
    return entries


def locate(entry_id: str, base: Path | None = None) -> Path:
    """The directory of the entry called `entry_id`, not validated (lint reads a broken one too)."""
    if not SLUG.match(entry_id):  # also keeps `../x` and 5,000-character ids away from the file system
        raise BreakfixError(f"no scenario or lab named {entry_id!r}: an id is 2-41 lower-case letters, digits and dashes; see `breakfix list`")
    places = [root / entry_id for root in roots(base) if (root / entry_id).is_dir()]
    if len(places) > 1:
        raise BreakfixError(_duplicate(entry_id, places))
    if places:
        return places[0]
    known = ", ".join(entry.id for entry in scan(base)[0]) or "none"
    raise BreakfixError(f"no scenario or lab named {entry_id!r} (known: {known}); see `breakfix list`")


def find(entry_id: str, base: Path | None = None) -> Entry:
    """The entry called `entry_id`; for an instance of an external entry, the copy it was started from."""
    if base is None and SLUG.match(entry_id):
        try:
            pinned: Path | None = pin_dir(entry_id)
        except BreakfixError:  # no state dir to read: no instance, so no copy (`show` still works)
            pinned = None
        if pinned is not None and any((pinned / name).is_file() for name in MANIFEST_FILES):
            return load_entry(pinned)
    return load_entry(locate(entry_id, base))


def pin_dir(entry_id: str) -> Path:
    from harness import state

    return state.instance_dir(entry_id) / PIN / entry_id  # a manifest's id names its directory


def for_run(target: str) -> Entry:
    """The entry `start` or `verify` runs: an id, or the path of an entry directory. One outside the built-in
    catalog (whose installed copy no checkout edit reaches) is copied into its instance's state directory
    first, and runs and is graded from that copy: editing the source, or the workspace, changes no grade."""
    path = Path(target)
    if any((path / name).is_file() for name in MANIFEST_FILES):
        directory = path.resolve()
        clash = [root / directory.name for root in roots() if (root / directory.name).is_dir() and (root / directory.name).resolve() != directory]
        if clash:
            raise BreakfixError(_duplicate(directory.name, [*clash, directory]))
    else:
        directory = locate(target)
    if directory.resolve().is_relative_to(content_root().resolve()):
        return load_entry(directory)
    entry = load_entry(directory)  # refused before anything is copied
    pinned = pin_dir(entry.id)
    if pinned.parent.exists():
        shutil.rmtree(pinned.parent)
    shutil.copytree(directory, pinned, ignore=shutil.ignore_patterns("__pycache__", ".git"), symlinks=True)
    return load_entry(pinned)
