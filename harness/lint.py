"""`breakfix lint`: everything the catalog and `verify` would reject in an entry, without provisioning.

The catalog's own validation (`catalog.entry_problems`) is the bulk of it, run to the end instead of
stopping at the first problem; lint adds what only `verify` or a learner would find later: a check
without the docstring learners read as its condition, no fake fix to prove the checks against, and
secrets or private keys checked into the entry.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness import catalog
from harness.catalog import Entry
from harness.errors import BreakfixError
from harness.manifest import MANIFEST_FILES, MAX_FILE_BYTES, load_manifest


@dataclass(frozen=True)
class Problem:
    """One line of lint: the file, then `field: what is wrong` (the catalog's messages read the same)."""

    file: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"

    @classmethod
    def parse(cls, line: str) -> Problem:
        """A catalog message starts with the file it is about."""
        file, _, message = line.partition(": ")
        return cls(file, message) if message else cls(line, "")


# Credentials with a recognisable shape. A demo value a stack needs (a session secret, moto's
# "testing" keys) is not one of these; a real key is, and once in a repository it is public.
SECRETS = {
    "private key": re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----"),
    "AWS access key id": re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Z0-9])"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[0-9A-Za-z-]{10,}"),
    "Stripe live key": re.compile(r"\b[sr]k_live_[0-9A-Za-z]{24,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
}
DOCUMENTED_EXAMPLES = ("AKIAIOSFODNN7EXAMPLE",)  # AWS's own documentation key: public on purpose
SKIPPED_DIRS = {"__pycache__", ".git", ".terraform"}  # written by tools, never by the author


def resolve(target: str, base: Path | None = None) -> Path:
    """A target is a directory holding a manifest, or the id of a catalog entry."""
    path = Path(target)
    if path.is_dir() and any((path / name).is_file() for name in MANIFEST_FILES):
        return path
    if "/" in target or path.exists():
        raise BreakfixError(f"{target}: not an entry directory (no {' or '.join(MANIFEST_FILES)})")
    return catalog.locate(target, base)


def lint(directory: Path) -> list[Problem]:
    """Every problem of the entry in `directory`; none means the catalog loads it and verify has what it needs."""
    manifest_file = next((directory / name for name in MANIFEST_FILES if (directory / name).is_file()), None)
    if manifest_file is None:
        return [Problem(str(directory), f"no {' or '.join(MANIFEST_FILES)}")]
    found = list(_secrets(directory))  # read even when the manifest is broken: a key is public once pushed
    try:
        entry = Entry(manifest=load_manifest(manifest_file), directory=directory)
    except BreakfixError as exc:  # without a manifest nothing else can be read
        return [Problem.parse(str(exc)), *found]
    try:
        found[:0] = [Problem.parse(line) for line in catalog.entry_problems(entry)]
    except Exception as exc:  # noqa: BLE001 -- a bug in validation is one problem, not a traceback
        found.insert(0, Problem(str(directory), f"breakfix could not validate this entry ({type(exc).__name__}: {exc}) -- a breakfix bug, please report it"))
    found += _docstrings(entry)
    if not entry.manifest.fake_fixes:
        found.append(Problem(str(entry.manifest_file), "fake_fixes: none -- declare at least one tempting non-fix the checks must reject "
                                                      "(`breakfix verify --fakes` proves they do)"))
    return found


def _docstrings(entry: Entry) -> Iterator[Problem]:
    """The docstring of a check is the condition the learner reads in `breakfix check`."""
    try:
        nodes = list(catalog.check_nodes(sorted(entry.checks_dir.glob("test_*.py"))))
    except BreakfixError:
        return  # the catalog has named the file that does not parse
    for check, node in nodes:
        if not (ast.get_docstring(node) or "").strip():
            yield Problem(f"{check}:{node.lineno}", f"{node.name}: no docstring -- it is the condition the learner reads; say what must be true")


def _secrets(directory: Path) -> Iterator[Problem]:
    for path in sorted(directory.rglob("*")):
        if SKIPPED_DIRS & set(path.relative_to(directory).parts) or path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            continue
        try:
            text = path.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            for kind, pattern in SECRETS.items():
                match = pattern.search(line)
                if match and match.group(0) not in DOCUMENTED_EXAMPLES:
                    yield Problem(f"{path}:{number}", f"looks like a credential ({kind}) -- never check a credential into an entry; "
                                                      "generate it at provision or use an obviously fake value")
