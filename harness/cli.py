"""The command line: parses arguments, calls the lifecycle, prints. No logic of its own.

Output contract (README, "Exit codes and JSON"): exit 0 all pass, 1 not fixed / verify failed, 2 usage
error (typer's own), 3 breakfix could not do it, 130 interrupted; under --json stdout holds exactly one
JSON document and every human line goes to stderr."""

from __future__ import annotations

import errno
import getpass
import json
import os
import shlex
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer.exceptions import TyperException

from harness import __version__, catalog, doctor, state
from harness.catalog import Entry
from harness.errors import BreakfixError
from harness.grading import report
from harness.manifest import LabManifest, read_text
from harness.output import ExitCode, document, plain, printable

if TYPE_CHECKING:
    from harness.lifecycle import Lifecycle

app = typer.Typer(help="Hands-on break/fix labs for cloud and infrastructure engineers.", no_args_is_help=True, add_completion=False)
images_app = typer.Typer(help="The base image every scenario runs on.", no_args_is_help=True)
app.add_typer(images_app, name="images")
console = Console()
errors = Console(stderr=True, soft_wrap=True)  # an error stays one line in a pipe: grep and CI logs see it whole


class RichReporter:
    """Lifecycle steps and their progress as lines stamped with the elapsed time (readable in CI logs too)."""

    def __init__(self, out: Console | None = None) -> None:
        self.started = time.monotonic()
        self.out = out or console

    def _stamp(self) -> str:
        return f"[dim]{time.monotonic() - self.started:5.1f}s[/]"

    def step(self, name: str, detail: str = "") -> None:
        # details quote manifests (a fake's summary) and engines: escaped
        self.out.print(f"{self._stamp()} [bold cyan]▸ {plain(name)}[/] {plain(detail)}".rstrip(), highlight=False)

    def progress(self, message: str) -> None:
        self.out.print(f"{self._stamp()}   [dim]{plain(message)}[/]", highlight=False)


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

    console.print(Markdown(printable(read_text(path))))  # Markdown reads no Rich markup, but would pass escapes through


def record_history(what: Callable[[], Any]) -> None:
    """History is kept beside the instance, never instead of it: a write that fails is one warning line."""
    try:
        what()
    except BreakfixError as exc:
        errors.print(f"[yellow]warning:[/] {plain(exc)}", highlight=False)


# -- errors, interrupts and the JSON document ------------------------------------------------------

class _Run:
    """What the running command has printed and may be interrupted in (one command per process)."""

    emitted = False  # its JSON document is on stdout: an error after it goes to stderr only
    provisioning = False  # an interrupt cleans up what it created


def emit(text: str) -> None:
    """Print the command's one JSON document on stdout."""
    print(text, flush=True)
    _Run.emitted = True


def _os_error(exc: OSError) -> str:
    where = str(exc.filename) if exc.filename else "a file breakfix needed"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        folder = os.path.dirname(where) if exc.filename else "."
        return f"no space left on the device holding {where}: free some space (`df -h {folder}`) and run the command again"
    if exc.errno == errno.EROFS:
        return f"{where} is on a read-only file system: point BREAKFIX_STATE_DIR at a writable directory and run the command again"
    if isinstance(exc, PermissionError):
        return (f"permission denied on {where}: make it writable by {getpass.getuser()} (or point BREAKFIX_STATE_DIR at a "
                "writable directory) and run the command again")
    return f"{exc.strerror or exc}: {where}"


def _engine_error(exc: Exception) -> str | None:
    """The Docker SDK's and its HTTP stack's errors, recognised without importing them (list and doctor never load them)."""
    modules = {cls.__module__.split(".")[0] for cls in type(exc).__mro__}
    if not modules & {"docker", "requests", "urllib3"}:
        return None
    detail = " ".join(str(exc).split())[:300]
    if any(word in type(exc).__name__ for word in ("Connection", "Timeout", "Timed")):
        return f"the Docker engine stopped answering ({detail}): make sure it runs (`docker info`), then run the command again"
    return f"the Docker engine refused a request: {detail}"


def explain(exc: Exception) -> str:
    """The one line (or short block, for a BreakfixError that lists problems) the user reads."""
    if isinstance(exc, BreakfixError):
        return str(exc)
    if isinstance(exc, OSError):
        return _os_error(exc)
    engine = _engine_error(exc)
    if engine is not None:
        return engine
    detail = " ".join(str(exc).split())[:300]
    return f"unexpected {type(exc).__name__}: {detail} -- a breakfix bug, please report it (BREAKFIX_DEBUG=1 shows the traceback)"


def friendly(command: Callable[..., Any]) -> Callable[..., Any]:
    """Expected failures print one red line and exit 3 (under --json also a JSON error document on stdout);
    Ctrl-C exits 130 after cleanup; nothing reaches the user as a traceback."""

    name = command.__name__.removesuffix("_command").removesuffix("_entries")  # doctor_command is `doctor`

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _Run.emitted = _Run.provisioning = False
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, TyperException, BrokenPipeError):
            raise  # exit codes, usage errors, and a closed pipe are typer's to handle
        except KeyboardInterrupt as exc:
            # a lifecycle that could not clean up, or has handed over, says so in the interrupt
            said = plain(str(exc)) or ("cleaned up" if _Run.provisioning else "")
            errors.print(f"[yellow]interrupted{': ' + said if said else ''}[/]", highlight=False)
            raise typer.Exit(ExitCode.INTERRUPTED) from None
        except Exception as exc:  # the last place a traceback could reach the user
            if os.environ.get("BREAKFIX_DEBUG") and not isinstance(exc, BreakfixError):
                raise
            message = explain(exc)
        if kwargs.get("as_json") and not _Run.emitted:
            emit(document(name, {"passed": False, "error": message}))
        errors.print(f"[bold red]error:[/] {plain(message)}", highlight=False)
        raise typer.Exit(ExitCode.ERROR)

    return wrapper


def _sigterm_as_interrupt() -> None:
    """So `kill <pid>` of a running start/verify cleans up like Ctrl-C does."""
    _Run.provisioning = True

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def _print_version(value: bool) -> None:
    if value:
        print(f"breakfix {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True, help="print the version and exit")] = False,
) -> None:
    """Hands-on break/fix labs for cloud and infrastructure engineers."""
    catalog.EXTRA_PATHS.clear()  # `--path` holds for one command (CliRunner runs many in one process)


# -- the catalog -----------------------------------------------------------------------------------

def _add_paths(paths: list[Path] | None) -> list[Path] | None:
    for path in paths or []:
        try:
            catalog.add_path(path)
        except BreakfixError as exc:
            raise typer.BadParameter(str(exc), param_hint="--path") from None
    return paths


PathOption = Annotated[list[Path] | None, typer.Option("--path", callback=_add_paths, is_eager=True,
                                                       help="a catalog directory (holding scenarios/, labs/) to add; repeatable; also BREAKFIX_PATH")]

@dataclass(frozen=True)
class Invalid:
    id: str
    kind: str
    problem: str  # the whole line, naming the file
    reason: str  # the same without the entry's path, for a table cell


def _invalid_entries(problems: list[str]) -> list[Invalid]:
    """One per problem. Each problem names a file in its entry (the catalog's contract), which is how it
    is matched to its directory; one naming none keeps `?` for id and kind."""
    directories = [(directory, kind) for kind, root in catalog.kind_roots() if root.is_dir()
                   for directory in root.iterdir() if directory.is_dir()]
    invalid = []
    for problem in problems:
        match = [(str(directory), kind) for directory, kind in directories if problem.startswith((f"{directory}/", f"{directory}:"))]
        if match:
            prefix, kind = max(match, key=lambda found: len(found[0]))
            invalid.append(Invalid(Path(prefix).name, kind, problem, problem[len(prefix):].lstrip("/: ").strip() or problem))
        else:
            invalid.append(Invalid("?", "?", problem, problem))
    return invalid


@app.command("list")
@friendly
def list_entries(
    kind: Annotated[str | None, typer.Option(help="scenario or lab")] = None,
    tag: Annotated[str | None, typer.Option(help="only entries with this tag")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable catalog on stdout")] = False,
    path: PathOption = None,
) -> None:
    """Every scenario and lab, with whether this machine meets its requirements. Exit 3 if any entry is invalid."""
    found, problems = catalog.scan()
    entries = [e for e in found if (kind is None or e.kind == kind) and (tag is None or tag in e.manifest.tags)]
    invalid = [bad for bad in _invalid_entries(problems) if kind is None or bad.kind in (kind, "?")]
    machine = findings_for(entries)
    best = _best_times()
    listed = []
    for entry in entries:
        manifest = entry.manifest
        listed.append({"id": entry.id, "kind": entry.kind, "title": manifest.title, "difficulty": manifest.difficulty,
                       "question": manifest.question, "tags": list(manifest.tags), "requires": list(manifest.requires),
                       "missing": doctor.unmet(list(manifest.requires), machine), "best_seconds": best.get(entry.id)})
    if as_json:
        emit(document("list", {"entries": listed, "invalid": [{"id": bad.id, "kind": bad.kind, "problem": bad.problem} for bad in invalid]}))
    else:
        console.print(_catalog_table(listed, invalid, console.width))
        for bad in invalid:  # whole, with the file it names
            errors.print(f"[bold red]invalid:[/] {plain(bad.problem)}", highlight=False)
    if invalid:
        raise typer.Exit(ExitCode.ERROR)


def _best_times() -> dict[str, float]:
    """Each solved entry's best time; an unreadable history leaves the catalog unmarked, with one warning."""
    from harness import history

    try:
        return history.best_times()
    except BreakfixError as exc:
        errors.print(f"[yellow]warning:[/] {plain(exc)}", highlight=False)
        return {}


TITLE_MIN, TAGS_MIN = 16, 8
DROPPABLE = ("tags", "kind", "level", "q", "ready")  # what goes first when a terminal is narrow; the id and title never go


def _catalog_table(listed: list[dict[str, Any]], invalid: list[Invalid], width: int) -> Table:
    """Readable at 80 columns and in a pipe: the id (what a user types) is never cut, the title wraps, tags
    are cut, then whole columns go. Rich would cut every column alike, so the widths are set here."""
    rows: list[dict[str, Text]] = []
    for row in listed:
        ready = Text("✓", "green") if not row["missing"] else Text("✗ " + ", ".join(row["missing"]), "red")
        if row.get("best_seconds") is not None:  # solved here: the best time, where readiness is read (12 columns: never folded)
            minutes, seconds = divmod(round(row["best_seconds"]), 60)  # as `history` rounds it
            ready.append(f" best {minutes}m{seconds:02d}s", "green")
        rows.append({"id": Text(printable(row["id"]), "bold"), "kind": Text(row["kind"]), "q": Text(printable(row["question"])),
                     "level": Text(printable(row["difficulty"])), "ready": ready, "title": Text(printable(row["title"], newlines=False)),
                     "tags": Text(printable(", ".join(row["tags"]), newlines=False), "dim")})
    for bad in invalid:
        rows.append({"id": Text(printable(bad.id), "bold"), "kind": Text(bad.kind), "q": Text("-"), "level": Text("-"),
                     "ready": Text("✗ invalid", "red"), "title": Text(printable(bad.reason, newlines=False), "red"), "tags": Text("")})
    columns = ["id", "kind", "q", "level", "ready", "title", "tags"]
    natural = {name: max([len(name)] + [row[name].cell_len for row in rows]) for name in columns}
    natural["ready"] = min(natural["ready"], 12)  # a long list of missing requirements folds
    sized = dict(natural)
    for droppable in (None, *DROPPABLE):
        if droppable is not None:
            columns.remove(droppable)
        room = width - sum(natural[name] for name in columns if name not in ("title", "tags")) - 2 * (len(columns) - 1)
        if "tags" in columns:
            sized["title"] = min(natural["title"], room - TAGS_MIN)
            sized["tags"] = min(natural["tags"], room - sized["title"])
            if sized["title"] >= TITLE_MIN and sized["tags"] >= TAGS_MIN:
                break
        else:
            sized["title"] = min(natural["title"], room)
            if sized["title"] >= TITLE_MIN:
                break
    sized["title"] = max(sized["title"], 4)  # narrower than any layout: a thin title, still a whole id
    table = Table(title="breakfix catalog", box=None, pad_edge=False, header_style="bold")
    for name in columns:
        table.add_column(name, width=sized[name], no_wrap=name in ("id", "kind", "q", "level", "tags"),
                         overflow="ellipsis" if name == "tags" else "fold")
    for row in rows:
        table.add_row(*(row[name] for name in columns))
    return table


@app.command()
@friendly
def show(entry_id: str, path: PathOption = None) -> None:
    """The manifest and the brief of one scenario or lab."""
    entry = catalog.find(entry_id)
    manifest = entry.manifest
    console.print(f"[bold]{plain(manifest.title)}[/] ({entry.kind} {entry.id}, {plain(manifest.difficulty)}, question {plain(manifest.question)})",
                  highlight=False)
    console.print(f"tags: {plain(', '.join(manifest.tags))}   requires: {plain(', '.join(manifest.requires)) or '-'}   "
                  f"time limit: {manifest.time_limit} min", highlight=False)
    print_markdown(entry.brief)


# -- an instance -----------------------------------------------------------------------------------

@app.command()
@friendly
def start(
    entry_id: Annotated[str, typer.Argument(help="an id, or the path of an entry directory")],
    baseline: Annotated[bool, typer.Option("--baseline", help="rerun the healthy-system checks even if this machine passed them today")] = False,
    path: PathOption = None,
) -> None:
    """Provision, break, and hand over a scenario (or a lab's workspace)."""
    _sigterm_as_interrupt()
    lifecycle = new_lifecycle(catalog.for_run(entry_id), RichReporter())
    entry_id = lifecycle.entry.id
    started = time.monotonic()
    try:
        record = lifecycle.start(reuse_baseline=not baseline)
        from harness import history

        record_history(lambda: history.started(record.entry_id, record.kind, record.started_at, record.handed_over_at))
        console.print(f"[green]ready in {time.monotonic() - started:.1f}s[/] -- the clock is running ({lifecycle.entry.manifest.time_limit} min).")
        _hand_over(lifecycle)
    except KeyboardInterrupt:
        if not lifecycle.handed_over():
            raise
        raise KeyboardInterrupt(f"{entry_id} is ready and yours (`breakfix show {entry_id}` prints the brief, "
                                "`breakfix status` the clock, `breakfix stop` removes it)") from None


def _hand_over(lifecycle: Lifecycle) -> None:
    print_markdown(lifecycle.entry.brief)
    console.print(f"[bold]workspace:[/] {plain(lifecycle.workspace)}", highlight=False, soft_wrap=True)
    for key, value in lifecycle.env().items():
        console.print(f"  {plain(key)}={plain(value)}", highlight=False)
    manifest = lifecycle.entry.manifest
    if isinstance(manifest, LabManifest):
        console.print(f"next: implement {plain(manifest.entry)} in the workspace, then `breakfix check` (it runs your code in a sandbox "
                      f"limited to {plain(manifest.limits.memory)} memory, {manifest.limits.seconds:g} s per run); stuck? `breakfix hint`.")
        return
    console.print("next: debug with your usual tools, then `breakfix check`; stuck? `breakfix hint`.")


@app.command()
@friendly
def status(as_json: Annotated[bool, typer.Option("--json", help="machine-readable status on stdout")] = False) -> None:
    """The active instance: elapsed time, hints used, check attempts, workspace. Exit 3 when nothing is running."""
    entry, record = active_entry()
    limit = entry.manifest.time_limit * 60
    from harness import history

    standing = history.standing(record)  # a pass after `solve --apply` is the reference's, not the learner's
    solved_after = None if standing.solved_after is None else int(standing.solved_after)
    applied_after = None if standing.solution_applied_after is None else int(standing.solution_applied_after)
    from harness.instance import Instance

    workspace = Instance(entry).workspace  # the briefs send the learner here for it
    if as_json:
        emit(document("status", {
            "entry": record.entry_id, "instance": record.instance, "kind": record.kind, "phase": record.phase,
            "state": record.describe(), "elapsed_seconds": round(record.elapsed, 1), "time_limit_seconds": limit,
            "over_time": record.elapsed > limit, "hints_used": record.hints_used, "hints_total": len(entry.hint_files),
            "checks_run": len(record.attempts), "solved": solved_after is not None, "solved_after_seconds": solved_after,
            "solution_applied_after_seconds": applied_after, "workspace": str(workspace),
        }))
        return
    minutes, seconds = divmod(int(record.elapsed), 60)
    over = " [red](over time)[/]" if record.elapsed > limit else ""
    console.print(f"[bold]{plain(record.entry_id)}[/] ({record.kind}) -- {plain(record.describe())}", highlight=False)
    console.print(f"elapsed {minutes}m{seconds:02d}s of {limit // 60}m{over}; hints used {record.hints_used}/{len(entry.hint_files)}; checks run {len(record.attempts)}")
    console.print(f"workspace: {plain(workspace)}", highlight=False, soft_wrap=True)  # a path to copy: never broken
    if solved_after is not None:
        console.print(f"[green]solved[/] after {solved_after}s")
    if applied_after is not None:
        console.print(f"[yellow]reference solution applied[/] after {applied_after}s (`breakfix solve --apply`)"
                      + ("" if solved_after is not None else ": a pass since then is not counted as solved"))


@app.command()
@friendly
def check(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable result on stdout")] = False,
    junit: Annotated[Path | None, typer.Option(help="also write JUnit XML to this file")] = None,
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
            from harness import history

            failing = {c.id: c.message for c in grade.conditions if c.outcome in ("failed", "error")}
            record_history(lambda: history.checked(record.entry_id, counts["passed"], counts["failed"] + counts["error"], failing, grade.passed))
        except BreakfixError as exc:
            unrecorded = exc  # the grade was computed: show it, then say it was not recorded
    if as_json:
        emit(report.as_json(grade))
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
    from harness import history

    record_history(lambda: history.hinted(record.entry_id))
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
    lifecycle, record = active_lifecycle()
    lifecycle.reporter = RichReporter()
    from harness import history

    # recorded before the script runs: one that fails half-way has still given the answer away
    record_history(lambda: history.solution_applied(record.entry_id))
    lifecycle.solve()
    console.print("applied; `breakfix check` to see it pass (recorded: a pass from now on is the reference's, not yours).")


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

            console.print(plain(force_stop(RichReporter())), highlight=False)
        if stop_emulator_if_unused():
            console.print("stopped the AWS emulator (no instance needs it).")
        elif not force:
            raise
        return
    lifecycle.reporter = RichReporter()
    lifecycle.stop()
    from harness import history

    record_history(lambda: history.stopped(record.entry_id))
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


# -- proving entries -------------------------------------------------------------------------------

def _verify_targets(entry_ids: list[str], out: Console) -> tuple[list[Entry], list[dict[str, Any]]]:
    """The entries to verify, and a result for each one that will not be: invalid, unknown or skipped.
    `all` proves what this machine can run and says what it skipped; a named entry is never skipped."""
    if entry_ids != ["all"]:
        entries, results = [], []
        for entry_id in dict.fromkeys(entry_ids):
            try:
                entries.append(catalog.for_run(entry_id))
            except BreakfixError as exc:
                results.append({"entry": entry_id, "outcome": "invalid", "passed": False, "error": str(exc)})
                out.print(f"[bold red]invalid[/] {plain(entry_id)}: {plain(exc)}", highlight=False, soft_wrap=True)
        return entries, results
    found, problems = catalog.scan()
    results = [{"entry": bad.id, "outcome": "invalid", "passed": False, "error": bad.problem} for bad in _invalid_entries(problems)]
    for problem in problems:
        out.print(f"[bold red]invalid[/] {plain(problem)}", highlight=False, soft_wrap=True)
    machine = findings_for(found)
    runnable = []
    for entry in found:
        missing = doctor.unmet(list(entry.manifest.requires), machine)
        if missing:
            reason = f"this machine lacks {', '.join(missing)} (`breakfix doctor`)"
            results.append({"entry": entry.id, "outcome": "skipped", "passed": False, "reason": reason})
            out.print(f"[yellow]skipped[/] {entry.id}: {plain(reason)}", highlight=False)
        else:
            runnable.append(catalog.for_run(str(entry.directory)))  # an external one runs from its copy
    return runnable, results


@app.command()
@friendly
def verify(
    entry_ids: Annotated[list[str], typer.Argument(help="ids or entry directories to verify; `all` for every entry")],
    fakes: Annotated[bool, typer.Option("--fakes", help="also prove every declared fake fix fails")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document on stdout; progress on stderr")] = False,
    path: PathOption = None,
) -> None:
    """Prove entries end to end: healthy passes, broken fails, solution passes, teardown is clean.
    Each entry is proved even after another failed. Exit 0 all pass, 1 one failed, 3 one is invalid or the engine is unreachable."""
    _sigterm_as_interrupt()
    out = errors if as_json else console
    entries, results = _verify_targets(entry_ids, out)
    fatal = None
    for entry in entries:
        lifecycle = new_lifecycle(entry, RichReporter(out))
        started = time.monotonic()
        try:
            lifecycle.require_engine()
        except BreakfixError as exc:  # no later entry can run either
            fatal = str(exc)
            break
        try:
            result = lifecycle.verify(fakes=fakes)
        except BreakfixError as exc:
            results.append({"entry": entry.id, "outcome": "failed", "passed": False, "seconds": round(time.monotonic() - started, 2),
                            "error": str(exc)})
            out.print(f"[bold red]failed[/] {entry.id} after {time.monotonic() - started:.1f}s: {plain(exc)}", highlight=False)
            continue
        results.append({"entry": entry.id, "outcome": "passed", "passed": True, "seconds": round(result.seconds, 2),
                        "steps": [{"name": name, "seconds": round(seconds, 2)} for name, seconds in result.steps],
                        "fakes": [{"id": fake_id, "rejected_by": failing} for fake_id, failing in result.fakes]})
        steps = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in result.steps)
        out.print(f"[bold green]verified[/] {entry.id} in {result.seconds:.1f}s ({plain(steps)})", highlight=False)
        for fake_id, failing in result.fakes:
            out.print(f"  fake fix {plain(fake_id)}: rejected by {plain(', '.join(failing))}", highlight=False)
    outcomes = [r["outcome"] for r in results]
    counts = {outcome: outcomes.count(outcome) for outcome in ("passed", "failed", "invalid", "skipped")}
    if fatal is None and counts["passed"] == 0 and not (counts["failed"] or counts["invalid"]):
        fatal = "nothing to verify: this machine meets no entry's requirements (`breakfix doctor` says what is missing)"
    passed = fatal is None and counts["passed"] > 0 and not (counts["failed"] or counts["invalid"])
    body: dict[str, Any] = {"passed": passed, "counts": counts, "entries": results}
    if fatal is not None:
        body["error"] = fatal
    if as_json:
        emit(document("verify", body))
    if len(results) > 1:
        out.print(", ".join(f"{number} {outcome}" for outcome, number in counts.items() if number), highlight=False)
    if fatal is not None:
        errors.print(f"[bold red]error:[/] {plain(fatal)}", highlight=False)
    raise typer.Exit(ExitCode.ERROR if fatal is not None or counts["invalid"] else ExitCode.OK if passed else ExitCode.FAILED)


@app.command("history")
@friendly
def history_command(
    entry_id: Annotated[str | None, typer.Argument(help="only this entry's attempts")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="every attempt as one JSON document on stdout")] = False,
) -> None:
    """Every attempt on this machine: when, how it ended, time to solve, hints, checks and what failed."""
    from harness import history

    found = history.attempts(entry_id)
    if as_json:
        emit(document("history", {"attempts": [attempt.as_json() for attempt in found]}))
        return
    if not found:
        console.print("no attempts recorded yet: `breakfix start <id>` begins one.")
        return
    table = Table(title="breakfix history", box=None, pad_edge=False, header_style="bold")
    for column in ("#", "entry", "started", "outcome", "solved in", "hints", "checks", "last failing"):
        table.add_column(column, overflow="fold")
    for attempt in found:
        solved = f"{attempt.solved_after:.0f}s" if attempt.solved_after is not None else "-"
        last = attempt.checks[-1]["failing"] if attempt.checks else {}
        table.add_row(str(attempt.id), plain(attempt.entry), time.strftime("%Y-%m-%d %H:%M", time.localtime(attempt.started)), attempt.outcome,
                      solved, str(attempt.hints), str(len(attempt.checks)), plain(", ".join(last)) or "-")
    console.print(table)


@app.command("report")
@friendly
def report_command(
    attempt: Annotated[int | None, typer.Option("--attempt", min=1, help="the attempt's # in `breakfix history` (default: the latest)")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="write the draft to this file instead of stdout")] = None,
) -> None:
    """A blameless postmortem draft in Markdown from an attempt's recorded timeline; root cause and fix are yours to write.
    Exit 3 when nothing is recorded or there is no such attempt."""
    from harness import postmortem

    text = postmortem.for_attempt(attempt)
    if out is None:
        print(text, end="")
        return
    out.write_text(text, encoding="utf-8")
    errors.print(f"wrote {plain(out)}: fill in the parts marked ✍", highlight=False)


@app.command("lint")
@friendly
def lint_entries(
    targets: Annotated[list[str], typer.Argument(help="entry directories or catalog ids")],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document on stdout")] = False,
    path: PathOption = None,
) -> None:
    """Everything the catalog and verify would reject, without provisioning: one line per problem, naming
    the file and the field. Exit 0 clean, 1 a problem found, 3 a target that is no entry."""
    from harness import lint

    directories = [lint.resolve(target) for target in dict.fromkeys(targets)]
    linted = [(directory, lint.lint(directory)) for directory in directories]
    passed = not any(problems for _, problems in linted)
    if as_json:
        emit(document("lint", {"passed": passed, "entries": [
            {"directory": str(directory), "passed": not problems, "problems": [{"file": p.file, "message": p.message} for p in problems]}
            for directory, problems in linted]}))
    else:
        for directory, problems in linted:
            for problem in problems:
                console.print(plain(problem), highlight=False, soft_wrap=True)
            verdict = "[green]clean[/]" if not problems else f"[red]{len(problems)} problem(s)[/]"
            errors.print(f"{plain(directory)}: {verdict}", highlight=False)
    raise typer.Exit(ExitCode.OK if passed else ExitCode.FAILED)


new_app = typer.Typer(help="Write a new entry to start from: one `breakfix lint` accepts.", no_args_is_help=True)
app.add_typer(new_app, name="new")


def _new(kind: str, entry_id: str, source: str | None, directory: Path) -> None:
    from harness import lint, scaffold

    target = scaffold.new(kind, entry_id, directory, source)
    problems = lint.lint(target)
    for problem in problems:  # a template or copy lint refuses is a breakfix bug: say so rather than hide it
        errors.print(f"[bold red]lint:[/] {plain(problem)}", highlight=False)
    console.print(f"[green]wrote[/] {plain(target)}" + (f" ({len(problems)} lint problem(s))" if problems else " (lint: clean)"), highlight=False)
    tasks = scaffold.still_to_write(target)
    for task in tasks:
        console.print(f"  to write: {plain(task)}", highlight=False, soft_wrap=True)
    console.print(f"next: `breakfix lint {plain(target)}`, then `breakfix verify --path {plain(directory)} {entry_id}`", highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(ExitCode.FAILED)


DirOption = Annotated[Path, typer.Option("--dir", help="catalog directory: the entry goes to DIR/scenarios/<id> or DIR/labs/<id>")]


@new_app.command("scenario")
@friendly
def new_scenario(
    entry_id: str,
    source: Annotated[str | None, typer.Option("--from", help="copy this existing scenario instead of the template")] = None,
    directory: DirOption = Path("."),
) -> None:
    """A new scenario: manifest (with the schema modeline), brief, stack, one check, hints, solution, one fake."""
    _new("scenario", entry_id, source, directory)


@new_app.command("lab")
@friendly
def new_lab(
    entry_id: str,
    source: Annotated[str | None, typer.Option("--from", help="copy this existing lab instead of the template")] = None,
    directory: DirOption = Path("."),
) -> None:
    """A new lab: manifest (with the schema modeline), brief, starter, one check, hints, solution, one fake."""
    _new("lab", entry_id, source, directory)


@app.command("schema")
@friendly
def schema_command(kind: Annotated[str, typer.Argument(help="scenario (scenario.yaml) or lab (lab.yaml)")] = "scenario") -> None:
    """The JSON Schema of scenario.yaml or lab.yaml, for an editor (fault kinds as a union told apart by `kind`)."""
    from harness import authoring

    if kind not in authoring.MODELS:
        raise typer.BadParameter(f"{kind!r}: one of {', '.join(authoring.MODELS)}", param_hint="KIND")
    print(json.dumps(authoring.manifest_schema(kind), indent=2))


@app.command("grade")
@friendly
def grade_command(
    lab_id: Annotated[str, typer.Argument(help="the lab or scenario whose hidden checks grade the submissions")],
    submissions: Annotated[list[Path], typer.Argument(help="directories, git repositories or tarballs (a scenario's: of the workspace)",
                                                      exists=True)],
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", min=1, help="parallel gradings (default: what cores and memory allow)")] = None,
    out: Annotated[Path | None, typer.Option(help="results directory (default ./breakfix-grades/<lab-id>)")] = None,
    force: Annotated[bool, typer.Option("--force", help="regrade submissions already graded with the same content")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="the summary as one JSON document on stdout; progress on stderr")] = False,
) -> None:
    """Grade a cohort's submissions: a lab's each in its own sandbox, in parallel; a scenario's (workspace
    archives) each on the scenario provisioned afresh, one after another. Exit 0 all pass, 1 any fails."""
    from harness.grading import batch_report
    from harness.lifecycle import Lifecycle

    _sigterm_as_interrupt()
    batch = batch_report.run(catalog.find(lab_id), submissions, jobs=jobs, out=out, force=force, console=errors if as_json else console,
                             lifecycles=Lifecycle)
    if as_json:
        emit(document("grade", batch.as_dict()))
    raise typer.Exit(ExitCode.OK if batch.passed else ExitCode.FAILED)


@app.command("ui")
@friendly
def ui_command(
    port: Annotated[int, typer.Option(min=0, max=65535, help="port on 127.0.0.1 (default: a free one)")] = 0,
    open_browser: Annotated[bool, typer.Option("--open", help="open the page in the default browser")] = False,
) -> None:
    """A local page beside the terminal: catalog, brief, timer, hints, check, live graphs of the symptom (Ctrl-C stops it)."""
    from harness.ui.server import serve

    serve(port, open_browser, lambda line: print(line, flush=True))


@app.command("doctor")
@friendly
def doctor_command(as_json: Annotated[bool, typer.Option("--json", help="machine-readable findings on stdout")] = False) -> None:
    """What is installed, what is missing, and how to get it. Exit 1 when something is missing."""
    found = doctor.findings()
    passed = all(f.ok for f in found)
    if as_json:
        emit(document("doctor", {"passed": passed, "findings": [
            {"requirement": f.requirement, "item": f.item, "ok": f.ok, "detail": f.detail} for f in found]}))
    else:
        table = Table(title="breakfix doctor")
        for column in ("requirement", "item", "", "detail"):
            table.add_column(column)
        for finding in found:
            table.add_row(plain(finding.requirement), plain(finding.item), "[green]ok[/]" if finding.ok else "[red]missing[/]", plain(finding.detail))
        console.print(table)
    raise typer.Exit(ExitCode.OK if passed else ExitCode.FAILED)


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
    console.print(plain(result.summary()), highlight=False)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # between typer's own frames, outside every command's handler
        errors.print("[yellow]interrupted[/]", highlight=False)
        raise SystemExit(ExitCode.INTERRUPTED) from None


if __name__ == "__main__":
    main()
