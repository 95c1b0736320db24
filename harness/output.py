"""What the command line prints, made safe: user-supplied text escaped for a terminal and for Rich,
the exit codes, and the envelope of every JSON document."""

from __future__ import annotations

import json
import unicodedata
from enum import IntEnum
from typing import Any

from rich.markup import escape

SCHEMA_VERSION = 1  # of every JSON document the CLI prints; bumped when a field changes meaning or goes

# characters a terminal acts on (ANSI escapes, carriage returns), hides (zero-width) or reorders (bidi
# overrides): shown as escapes, so a title cannot repaint the screen or read differently from its bytes
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # not fixed yet, a verify that failed, a requirement doctor found missing
    USAGE = 2  # typer's own: an unknown option, a missing argument
    ERROR = 3  # breakfix could not do it: nothing running, engine unreachable, bad manifest, state not writable
    INTERRUPTED = 130


def _escape_char(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: object, *, newlines: bool = True) -> str:
    """`text` with every hidden or terminal-controlling character as a visible escape (`\\x1b`, `\\u202e`);
    tabs, and newlines unless `newlines` is false, are kept."""
    value = str(text)
    if value.isprintable():  # the common case, checked in C
        return value
    kept = {"\t", "\n"} if newlines else {"\t"}
    return "".join(
        char if char in kept or unicodedata.category(char) not in HIDDEN_CATEGORIES else _escape_char(char) for char in value
    )


def plain(text: object, *, newlines: bool = True) -> str:
    """User-supplied text for a Rich console: printable, and never read as markup (`<port>[/path]`)."""
    return escape(printable(text, newlines=newlines))


def document(command: str, body: dict[str, Any]) -> str:
    """One JSON document as the CLI prints it on stdout: `schema_version` and `command` first."""
    return json.dumps({"schema_version": SCHEMA_VERSION, "command": command, **body}, indent=2)
