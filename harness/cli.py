"""The command line: parses arguments, calls the lifecycle, prints. No logic of its own."""

from __future__ import annotations

import json
import shlex
import signal
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness import catalog, doctor, state
from harness.catalog import Entry
from harness.errors import BreakfixError
from harness.grading import report
from harness.manifest import LabManifest

if TYPE_CHECKING:
    from harness.lifecycle import Lifecycle

app = typer.Typer(help="Hands-on break/fix labs for cloud and infrastructure engineers.", no_args_is_help=True, add_completion=False)
images_app = typer.Typer(help="The base image every scenario runs on.", no_args_is_help=True)
app.add_typer(images_app, name="images")
console = Console()
errors = Console(stderr=True)


class RichReporter:
    """Lifecycle steps and their progress as lines stamped with the elapsed time (readable in CI logs too)."""

    def __init__(self, out: Console | None = None) -> None:
        self.started = time.monotonic()
        self.out = out or console

    def _stamp(self) -> str:
        return f"[dim]{time.monotonic() - self.started:5.1f}s[/]"

    def step(self, name: str, detail: str = "") -> None:
        self.out.print(f"{self._stamp()} [bold cyan]▸ {name}[/] {detail}".rstrip())

    def progress(self, message: str) -> None:
        self.out.print(f"{self._stamp()}   [dim]{message}[/]")


def active_lifecycle() -> tuple[Lifecycle, state.InstanceState]:
    # the lifecycle brings pytest, testinfra and the Docker SDK: only commands that drive the instance load it
    from harness.lifecycle import for_active

    return for_active()


def active_entry() -> tuple[Entry, state.InstanceState]:
    record = state.require_active()
    return catalog.find(record.entry_id), record


def new_lifecycle(entry: Entry, reporter: RichReporter | None) -> Lifecycle:
    from harness.lifecycle import Lifecycle

    return Lifecycle(entry, reporter)


def findings_for(entries: list[Entry]) -> dict[str, list[doctor.Finding]]:
    """This machine's findings for every requirement the entries declare, each probed once."""
    return doctor.by_requirement(sorted({requirement for entry in entries for requirement in entry.manifest.requires}))


def print_markdown(path: Path) -> None:
    from rich.markdown import Markdown  # a tenth of a second to import: only the commands that print prose pay it

    console.print(Markdown(path.read_text()))


def friendly(command: Callable[..., Any]) -> Callable[..., Any]:
    """Expected failures print one red line and exit 2; Ctrl-C exits 130 after cleanup."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except BreakfixError as exc:
            errors.print(f"[bold red]error:[/] {exc}", highlight=False)
            raise typer.Exit(2) from None
        except KeyboardInterrupt as exc:
            # a lifecycle that could not clean up, or has handed over, says so in the interrupt
            errors.print(f"[yellow]interrupted: {escape(str(exc)) or 'cleaned up'}[/]", highlight=False)
            raise typer.Exit(130) from None

    return wrapper


def _sigterm_as_interrupt() -> None:
    """So `kill <pid>` of a running start/verify cleans up like Ctrl-C does."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


@app.command("list")
@friendly
def list_entries(
    kind: Annotated[Optional[str], typer.Option(help="scenario or lab")] = None,
    tag: Annotated[Optional[str], typer.Option(help="only entries with this tag")] = None,
) -> None:
    """Every scenario and lab, with whether this machine meets its requirements."""
    found, problems = catalog.scan()
    entries = [e for e in found if (kind is None or e.kind == kind) and (tag is None or tag in e.manifest.tags)]
    table = Table(title="breakfix catalog")
    for column in ("id", "kind", "title", "difficulty", "tags", "question", "requires"):
        table.add_column(column)
    machine = findings_for(entries)
    for entry in entries:
        manifest = entry.manifest
        missing = doctor.unmet(list(manifest.requires), machine)
        needs = ", ".join(manifest.requires) or "-"
        met = f"[green]✓[/] {needs}" if not missing else f"[red]✗[/] missing {', '.join(missing)}"
        table.add_row(entry.id, entry.kind, manifest.title, manifest.difficulty, ", ".join(manifest.tags), manifest.question, met)
    console.print(table)
    for problem in problems:
        errors.print(f"[bold red]invalid:[/] {problem}", highlight=False)
    if problems:
        raise typer.Exit(2)


@app.command()
@friendly
def show(entry_id: str) -> None:
    """The manifest and the brief of one scenario or lab."""
    entry = catalog.find(entry_id)
    manifest = entry.manifest
    console.print(f"[bold]{manifest.title}[/] ({entry.kind} {entry.id}, {manifest.difficulty}, question {manifest.question})")
    console.print(f"tags: {', '.join(manifest.tags)}   requires: {', '.join(manifest.requires) or '-'}   time limit: {manifest.time_limit} min")
    print_markdown(entry.brief)


@app.command()
@friendly
def start(
    entry_id: str,
    baseline: Annotated[bool, typer.Option("--baseline", help="rerun the healthy-system checks even if this machine passed them today")] = False,
) -> None:
    """Provision, break, and hand over a scenario (or a lab's workspace)."""
    _sigterm_as_interrupt()
    lifecycle = new_lifecycle(catalog.find(entry_id), RichReporter())
    started = time.monotonic()
    try:
        lifecycle.start(reuse_baseline=not baseline)
        console.print(f"[green]ready in {time.monotonic() - started:.1f}s[/] -- the clock is running ({lifecycle.entry.manifest.time_limit} min).")
        _hand_over(lifecycle)
    except KeyboardInterrupt:
        if not lifecycle.handed_over():
            raise
        raise KeyboardInterrupt(f"{entry_id} is ready and yours (`breakfix show {entry_id}` prints the brief, "
                                "`breakfix status` the clock, `breakfix stop` removes it)") from None


def _hand_over(lifecycle: Lifecycle) -> None:
    print_markdown(lifecycle.entry.brief)
    console.print(f"[bold]workspace:[/] {lifecycle.workspace}")
    for key, value in lifecycle.env().items():
        console.print(f"  {key}={value}", highlight=False)
    manifest = lifecycle.entry.manifest
    if isinstance(manifest, LabManifest):
        console.print(f"next: implement {manifest.entry} in the workspace, then `breakfix check` (it runs your code in a sandbox "
                      f"limited to {manifest.limits.memory} memory, {manifest.limits.seconds:g} s per run); stuck? `breakfix hint`.")
        return
    console.print("next: debug with your usual tools, then `breakfix check`; stuck? `breakfix hint`.")


@app.command()
@friendly
def status() -> None:
    """The active instance: elapsed time, hints used, check attempts."""
    entry, record = active_entry()
    limit = entry.manifest.time_limit * 60
    minutes, seconds = divmod(int(record.elapsed), 60)
    over = " [red](over time)[/]" if record.elapsed > limit else ""
    console.print(f"[bold]{record.entry_id}[/] ({record.kind}) -- {escape(record.describe())}")
    console.print(f"elapsed {minutes}m{seconds:02d}s of {limit // 60}m{over}; hints used {record.hints_used}/{len(entry.hint_files)}; checks run {len(record.attempts)}")
    if record.solved_at:
        console.print(f"[green]solved[/] after {int(record.solved_at - (record.handed_over_at or record.started_at))}s")


@app.command()
@friendly
def check(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable result on stdout")] = False,
    junit: Annotated[Optional[Path], typer.Option(help="also write JUnit XML to this file")] = None,
) -> None:
    """Grade the active instance. Exit 0 only when every condition passes."""
    lifecycle, record = active_lifecycle()
    lifecycle.reporter = RichReporter(errors if as_json else console)  # settle's waits; stdout stays JSON
    with lifecycle.graded():
        if not as_json:
            console.print(f"checking {record.entry_id}...")
        grade = lifecycle.grade(junit=junit)
        counts = grade.counts()
        try:
            state.record_attempt(record.instance, counts["passed"], counts["failed"] + counts["error"], solved=grade.passed)
            unrecorded = None
        except BreakfixError as exc:
            unrecorded = exc  # the grade was computed: show it, then say it was not recorded
    if as_json:
        print(report.as_json(grade))
    else:
        report.print_text(grade, console)
    if unrecorded is not None:
        raise BreakfixError(f"this check was not recorded: {unrecorded}")
    raise typer.Exit(0 if grade.passed else 1)


@app.command()
@friendly
def hint() -> None:
    """The next progressive hint: where to look, never the fix."""
    entry, record = active_entry()
    hints = entry.hint_files
    number = state.take_hint(record.instance, len(hints))
    if number is None:
        console.print(f"no more hints ({len(hints)} used). `breakfix solve` shows the reference solution.")
        return
    console.print(f"[bold]hint {number}/{len(hints)}[/]")
    print_markdown(hints[number - 1])


@app.command()
@friendly
def reset() -> None:
    """Re-provision and re-inject the active scenario; the clock keeps running."""
    _sigterm_as_interrupt()
    lifecycle, record = active_lifecycle()
    lifecycle.reporter = RichReporter()
    lifecycle.reset(record)
    console.print("[green]reset done[/]: the system is broken again, as at the start.")


@app.command()
@friendly
def solve(
    apply: Annotated[bool, typer.Option("--apply", help="run the reference fix on the active instance")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
) -> None:
    """Show the reference solution; --apply runs it."""
    entry, _ = active_entry()
    print_markdown(entry.solution_doc)
    if not apply:
        return
    if not yes and not typer.confirm("Apply the reference fix to your instance (this gives the answer away)?"):
        raise typer.Exit(1)
    lifecycle, _ = active_lifecycle()
    lifecycle.reporter = RichReporter()
    lifecycle.solve()
    console.print("applied; `breakfix check` to see it pass.")


@app.command()
@friendly
def stop(force: Annotated[bool, typer.Option(help="forget the instance even if its state is unreadable")] = False) -> None:
    """Tear down the active instance; verifies nothing is left behind."""
    from harness.runtime.aws import stop_emulator_if_unused

    try:
        lifecycle, record = active_lifecycle()
    except BreakfixError:
        if force:
            from harness.lifecycle import force_stop

            console.print(force_stop(RichReporter()), highlight=False)
        if stop_emulator_if_unused():
            console.print("stopped the AWS emulator (no instance needs it).")
        elif not force:
            raise
        return
    lifecycle.reporter = RichReporter()
    lifecycle.stop()
    console.print(f"[green]stopped[/] {record.entry_id}: nothing left behind.")
    if stop_emulator_if_unused():
        console.print("stopped the AWS emulator (no instance needs it).")


@app.command("env")
@friendly
def env_command() -> None:
    """`export` lines for the active instance: `eval "$(breakfix env)"` points aws, boto3 and terraform at the lab."""
    lifecycle, _ = active_lifecycle()
    for key, value in lifecycle.env().items():
        print(f"export {key}={shlex.quote(value)}")


@app.command()
@friendly
def verify(
    entry_ids: Annotated[list[str], typer.Argument(help="ids to verify; `all` for every entry")],
    fakes: Annotated[bool, typer.Option("--fakes", help="also prove every declared fake fix fails")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Prove entries end to end: healthy passes, broken fails, solution passes, teardown is clean."""
    _sigterm_as_interrupt()
    entries = catalog.discover() if entry_ids == ["all"] else [catalog.find(i) for i in entry_ids]
    if entry_ids == ["all"]:
        # `all` proves what this machine can run and says what it skipped; a named entry is never skipped
        machine = findings_for(entries)
        runnable = []
        for entry in entries:
            missing = doctor.unmet(list(entry.manifest.requires), machine)
            if missing:
                console.print(f"[yellow]skipped[/] {entry.id}: this machine lacks {', '.join(missing)} (`breakfix doctor`)")
            else:
                runnable.append(entry)
        entries = runnable
    results = []
    for entry in entries:
        lifecycle = new_lifecycle(entry, None if as_json else RichReporter())
        result = lifecycle.verify(fakes=fakes)
        results.append(result)
        if not as_json:
            steps = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in result.steps)
            console.print(f"[bold green]verified[/] {entry.id} in {result.seconds:.1f}s ({steps})")
            for fake_id, failing in result.fakes:
                console.print(f"  fake fix {fake_id}: rejected by {', '.join(failing)}")
    if as_json:
        print(json.dumps([{"entry": r.entry_id, "seconds": round(r.seconds, 2), "steps": r.steps, "fakes": r.fakes} for r in results], indent=2))


@app.command("doctor")
@friendly
def doctor_command() -> None:
    """What is installed, what is missing, and how to get it."""
    table = Table(title="breakfix doctor")
    for column in ("requirement", "item", "", "detail"):
        table.add_column(column)
    found = doctor.findings()
    for finding in found:
        table.add_row(finding.requirement, finding.item, "[green]ok[/]" if finding.ok else "[red]missing[/]", finding.detail)
    console.print(table)
    raise typer.Exit(0 if all(f.ok for f in found) else 1)


@images_app.command("build")
@friendly
def images_build(
    force: Annotated[bool, typer.Option(help="rebuild even when the image is current")] = False,
    method: Annotated[str, typer.Option(help="auto, dockerfile or debootstrap")] = "auto",
) -> None:
    """Build the base image (offline with debootstrap when no registry is reachable)."""
    from harness.images import build_base_image
    from harness.runtime.docker import connect

    result = build_base_image(connect(), force=force, method=method)  # type: ignore[arg-type]
    console.print(result.summary())


def main() -> None:
    app()


if __name__ == "__main__":
    main()
