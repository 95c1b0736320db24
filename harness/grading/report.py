"""Reporters: a human table (rich) and JSON. JUnit XML comes from pytest's own junitxml."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from harness.grading.grade import Grade
from harness.output import document, plain

MARKS = {"passed": "[green]PASS[/]", "failed": "[red]FAIL[/]", "error": "[red]ERROR[/]", "skipped": "[yellow]SKIP[/]"}


def as_table(grade: Grade) -> Table:
    table = Table(title=f"breakfix check: {plain(grade.entry_id)}", show_lines=False, expand=False)
    table.add_column("", no_wrap=True)
    table.add_column("condition")
    table.add_column("details", overflow="fold")
    for condition in grade.conditions:
        # a message can quote what the learner's system answered: escaped, never read as markup
        table.add_row(MARKS[condition.outcome], plain(condition.title), plain(condition.message))
    return table


def summary_line(grade: Grade) -> str:
    counts = grade.counts()
    verdict = "[bold green]all conditions pass[/]" if grade.passed else "[bold red]not fixed yet[/]"
    return f"{verdict}: {counts['passed']} passed, {counts['failed'] + counts['error']} failed ({grade.seconds:.1f}s)"


def print_text(grade: Grade, console: Console) -> None:
    console.print(as_table(grade))
    console.print(summary_line(grade))


def as_json(grade: Grade) -> str:
    return document("check", grade.as_dict())
