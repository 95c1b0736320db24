"""Finds scenarios/ and labs/, loads and validates their manifests and the files they reference."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from harness.errors import BreakfixError
from harness.manifest import MANIFEST_FILES, AnyManifest, LabManifest, ScenarioManifest, load_manifest
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

    def referenced_files(self) -> list[Path]:
        files = [self.brief, self.solve_script, self.solution_doc, *self.hint_files]
        files.extend(self.directory / fake.script for fake in self.manifest.fake_fixes)
        if isinstance(self.manifest, ScenarioManifest) and not (self.directory / self.manifest.stack).is_dir():
            files.append(self.directory / self.manifest.stack)  # a directory is a manifests stack, checked below
        if isinstance(self.manifest, LabManifest):
            files.append(self.directory / "starter" / self.manifest.entry)
        return files


def validate_entry(entry: Entry) -> None:
    """Problems a manifest schema cannot see: missing files, an empty grader, a bad stack."""
    missing = [path for path in entry.referenced_files() if not path.is_file()]
    if missing:
        names = ", ".join(str(path.relative_to(entry.directory)) for path in missing)
        raise BreakfixError(f"{entry.directory}: missing file(s) referenced by the manifest: {names}")
    if not list(entry.checks_dir.glob("test_*.py")):
        raise BreakfixError(f"{entry.directory}/checks: no test_*.py -- a scenario without checks cannot be graded")
    if not entry.hint_files:
        raise BreakfixError(f"{entry.directory}: no hints (hints/01.md, ...)")
    if entry.stack_file is not None and entry.stack_file.name.startswith("compose"):
        from harness.runtime.compose import load_stack  # the stack format belongs to the Docker runtime

        stack = load_stack(entry.stack_file)
        declared = set(entry.manifest.services)  # type: ignore[union-attr]
        unknown = declared - set(stack.services)
        if unknown:
            raise BreakfixError(f"{entry.directory}/scenario.yaml: services: not in the stack: {sorted(unknown)}")
    if entry.stack_file is not None and entry.stack_file.is_dir():
        from harness.runtime.kind import validate_stack  # Kubernetes manifests, checked offline against the API schemas

        validate_stack(entry.stack_file)

    if isinstance(entry.manifest, LabManifest):
        _validate_lab(entry.manifest, entry.directory)


def _validate_lab(manifest: LabManifest, directory: Path) -> None:
    """A lab's learner code runs in a sandbox container, and verify swaps starter for solution."""
    if "docker" not in manifest.requires:
        raise BreakfixError(f"{directory}/lab.yaml: requires: must include docker -- learner code is graded in a sandbox container")
    if not (directory / "solution" / manifest.entry).is_file():
        raise BreakfixError(f"{directory}/solution/{manifest.entry}: missing -- the reference implementation of the entry file")


def load_entry(directory: Path) -> Entry:
    for name in MANIFEST_FILES:
        path = directory / name
        if path.is_file():
            entry = Entry(manifest=load_manifest(path), directory=directory)
            validate_entry(entry)
            return entry
    raise BreakfixError(f"{directory}: no scenario.yaml or lab.yaml")


def roots(base: Path | None = None) -> list[Path]:
    base = base or content_root()
    return [base / folder for folder in KIND_DIRS.values()]


def scan(base: Path | None = None) -> tuple[list[Entry], list[str]]:
    """Every valid entry sorted by kind then id, and one error line per invalid one."""
    entries, problems = [], []
    for root in roots(base):
        if not root.is_dir():
            continue
        for directory in sorted(path for path in root.iterdir() if path.is_dir() and not path.name.startswith((".", "_"))):
            try:
                entries.append(load_entry(directory))
            except BreakfixError as exc:
                problems.append(str(exc))
    return sorted(entries, key=lambda entry: (entry.kind, entry.id)), problems


def discover(base: Path | None = None) -> list[Entry]:
    """Every entry; an invalid one raises -- a catalog never hides a bad manifest."""
    entries, problems = scan(base)
    if problems:
        raise BreakfixError("\n".join(problems))
    return entries


def find(entry_id: str, base: Path | None = None) -> Entry:
    for root in roots(base):
        directory = root / entry_id
        if directory.is_dir():
            return load_entry(directory)
    known = ", ".join(entry.id for entry in discover(base)) or "none"
    raise BreakfixError(f"no scenario or lab named {entry_id!r} (known: {known}); see `breakfix list`")
