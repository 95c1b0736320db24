"""What `breakfix grade` shows: the plan (jobs and why, where results go), a progress bar while the
workers run (a scenario's lifecycle steps too), and the summary table."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from harness.catalog import Entry
from harness.grading.batch import Batch, Result, default_jobs, grade_batch
from harness.grading.batch_scenario import Lifecycles, grade_scenario_batch, published_ports
from harness.manifest import LabManifest
from harness.output import plain


def default_out(entry: Entry) -> Path:
    return Path.cwd() / "breakfix-grades" / entry.id


def run(entry: Entry, paths: list[Path], *, jobs: int | None, out: Path | None, force: bool, console: Console,
        lifecycles: Lifecycles | None = None) -> Batch:
    """Grade the batch with progress on `console`, then print the summary table there. A scenario's
    submissions are graded through `lifecycles` (the CLI's: grading never imports the lifecycle)."""
    if not isinstance(entry.manifest, LabManifest):
        ports = ", ".join(f"127.0.0.1:{port}" for port in published_ports(entry))  # a scenario graded from files only: else why not
        plan = (f"1 job: scenario submissions are graded one after another ({entry.id} publishes fixed ports: {ports})"
                + ("; --jobs does not apply" if jobs and jobs > 1 else ""))
        jobs = 1
    elif jobs is None:
        jobs, reason = default_jobs(entry)
        plan = f"{jobs} job(s) ({reason})"
    else:
        plan = f"{jobs} job(s) (--jobs)"
    jobs = max(1, min(jobs, len(paths)))
    out = (out or default_out(entry)).resolve()
    console.print(f"grading {len(paths)} submission(s) of {plain(entry.id)} with {plan}; results in {plain(out)}", highlight=False)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as progress:
        task = progress.add_task("grading", total=len(paths))
        running = 0

        def notify(event: str, result: Result | None) -> None:
            nonlocal running
            if event == "started":
                running += 1
            elif result is not None:
                running -= 0 if result.cached else 1
                verdict = "[green]pass[/]" if result.passed else "[red]FAIL[/]"
                cached = " (already graded)" if result.cached else ""
                progress.console.print(f"  {verdict} {plain(result.submission.name)} {result.seconds:.1f}s{cached}", highlight=False)
                progress.advance(task)
            progress.update(task, description=f"grading ({max(running, 0)} running)")

        if isinstance(entry.manifest, LabManifest):
            batch = grade_batch(entry, paths, out=out, jobs=jobs, force=force, notify=notify)
        else:
            assert lifecycles is not None, "a scenario is graded through the lifecycle"
            batch = grade_scenario_batch(entry, paths, out=out, lifecycles=lifecycles, force=force, notify=notify,
                                         progress=lambda line: progress.console.print(f"  [dim]{plain(line)}[/]", highlight=False))
    console.print(summary_table(batch))
    passed = sum(1 for result in batch.results if result.passed)
    console.print(f"{passed} of {len(batch.results)} passed in {batch.seconds:.1f}s; per submission: {plain(out)}/<name>.json and "
                  f".junit.xml, summary: {plain(out / 'summary.csv')}", highlight=False)
    return batch


def summary_table(batch: Batch) -> Table:
    table = Table(title=f"breakfix grade: {plain(batch.entry.id)}")
    table.add_column("submission", no_wrap=True)
    table.add_column("", no_wrap=True)
    table.add_column("passed", justify="right")
    table.add_column("failed conditions", overflow="fold")
    table.add_column("time", justify="right", no_wrap=True)
    table.add_column("peak mem", justify="right", no_wrap=True)
    for result in batch.results:
        failed = "\n".join(grouped_failures(result))
        peak = f"{result.peak_memory_bytes / 2**20:.0f} MiB" if result.peak_memory_bytes else "-"
        table.add_row(plain(result.submission.name), "[green]PASS[/]" if result.passed else "[red]FAIL[/]",
                      f"{result.passed_count()}/{len(result.conditions)}", plain(failed),
                      f"{result.seconds:.1f}s" + (" (cached)" if result.cached else ""), peak)
    return table


def grouped_failures(result: Result, width: int = 160) -> list[str]:
    """One line per distinct message: a crash fails every check the same way, and one line says so."""
    by_message: dict[str, list[str]] = {}
    for condition in result.failures():
        by_message.setdefault(" ".join(str(condition.get("message", "")).split())[:width], []).append(condition["id"])
    lines = []
    for message, ids in by_message.items():
        named = ids[0] if len(ids) == 1 else f"{ids[0]} and {len(ids) - 1} more"
        lines.append(f"{named}: {message}")
    return lines
