"""What the pages show, read in-process from the same catalog, state and history the CLI uses."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from harness import catalog, doctor, history, state
from harness.catalog import Entry
from harness.errors import BreakfixError
from harness.manifest import read_text
from harness.ui.signals import for_entry

# CommonMark without raw HTML: a brief is the author's Markdown, and its HTML is escaped, never run;
# markdown-it refuses javascript: and data: links by itself
_MARKDOWN = MarkdownIt("commonmark", {"html": False})


def render(path: Path) -> str:
    html: str = _MARKDOWN.render(read_text(path))  # typed Any (a renderer is pluggable); RendererHTML's is a str
    return html


def _best_times() -> dict[str, float]:
    try:
        return history.best_times()
    except BreakfixError:
        return {}  # an unreadable history leaves the catalog unmarked, as `breakfix list` does


_FINDINGS: dict[tuple[str, ...], tuple[float, dict[str, list[doctor.Finding]]]] = {}
FINDINGS_FOR = 60.0  # seconds a probe of this machine's requirements is reused: `doctor` takes a second or two, and a page reloads often


def machine(requirements: list[str]) -> dict[str, list[doctor.Finding]]:
    key = tuple(sorted(set(requirements)))
    cached = _FINDINGS.get(key)
    if cached is None or time.monotonic() - cached[0] > FINDINGS_FOR:
        cached = _FINDINGS[key] = (time.monotonic(), doctor.by_requirement(list(key)))
    return cached[1]


_SCAN: list[tuple[float, tuple[list[Entry], list[str]]]] = []
SCAN_FOR = 30.0  # seconds a catalog scan is reused: validating every manifest takes a second or more, solved marks stay fresh


def scan() -> tuple[list[Entry], list[str]]:
    if not _SCAN or time.monotonic() - _SCAN[0][0] > SCAN_FOR:
        _SCAN[:] = [(time.monotonic(), catalog.scan())]
    return _SCAN[0][1]


def catalog_rows() -> dict[str, Any]:
    found, problems = scan()
    machine_found = machine([requirement for entry in found for requirement in entry.manifest.requires])
    best = _best_times()
    rows = [{"id": entry.id, "kind": entry.kind, "title": entry.manifest.title, "difficulty": entry.manifest.difficulty,
             "question": entry.manifest.question, "tags": list(entry.manifest.tags), "requires": list(entry.manifest.requires),
             "missing": doctor.unmet(list(entry.manifest.requires), machine_found), "best_seconds": best.get(entry.id)} for entry in found]
    return {"entries": rows, "invalid": problems, "active": state.active_instance()}


def entry_page(entry: Entry) -> dict[str, Any]:
    manifest = entry.manifest
    return {"id": entry.id, "kind": entry.kind, "title": manifest.title, "summary": manifest.summary, "difficulty": manifest.difficulty,
            "question": manifest.question, "tags": list(manifest.tags), "requires": list(manifest.requires),
            "missing": doctor.unmet(list(manifest.requires), machine(list(manifest.requires))),
            "time_limit_minutes": manifest.time_limit, "hints_total": len(entry.hint_files), "brief_html": render(entry.brief),
            "signals": [spec.kind for spec in for_entry(entry)], "active": state.active_instance() == entry.id}


def status() -> dict[str, Any]:
    """The active instance as `breakfix status --json` tells it, plus the hints taken so far, rendered."""
    record = state.load_active()
    if record is None:
        return {"active": False}
    entry = catalog.find(record.entry_id)
    hints = entry.hint_files
    standing = history.standing(record)  # the rule `breakfix status` reads it by
    return {"active": True, "entry": record.entry_id, "title": entry.manifest.title, "kind": record.kind, "phase": record.phase,
            "state": record.describe(), "elapsed_seconds": round(record.elapsed, 1), "time_limit_seconds": entry.manifest.time_limit * 60,
            "hints_used": record.hints_used, "hints_total": len(hints), "checks_run": len(record.attempts),
            "hints": [render(path) for path in hints[: record.hints_used]], "solved": standing.solved_after is not None,
            "solved_after_seconds": standing.solved_after, "solution_applied_after_seconds": standing.solution_applied_after, "signals": [spec.kind for spec in for_entry(entry)]}
