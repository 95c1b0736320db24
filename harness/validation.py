"""How a pydantic validation error reads (one line, `field: problem; field: problem`), and the checks
every kind of input shares.

Every place that validates an author's or a machine's input (manifests, compose stacks, fault
parameters, instance state) says what went wrong the same way, so a message names the field
the same way wherever it comes from; a rule that several models need (a relative path that stays
inside its folder) is written here once, so they cannot drift apart.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Annotated

from pydantic import AfterValidator, ValidationError


def _field_name(part: str | int) -> str:
    # an author's key can hold anything, a newline included: the message stays one line
    return str(part) if isinstance(part, int) or re.fullmatch(r"[\w.-]+", part) else repr(part)


def field_path(loc: tuple[str | int, ...]) -> str:
    """A pydantic error location as `a.b.0.'odd key'`: always one line, whatever the keys hold."""
    return ".".join(_field_name(part) for part in loc)


def problems(error: ValidationError, prefix: str = "", *, top: str = "(top level)") -> str:
    """Every problem of `error` as `field: problem`, joined by "; "; `prefix` goes before each field
    path, `top` stands for an error of the whole input."""
    found = []
    for item in error.errors():
        where = prefix + field_path(item["loc"]) or top
        found.append(f"{where}: {item['msg'].removeprefix('Value error, ')}")
    return "; ".join(found)


def outside_problem(value: str) -> str | None:
    """Why `value` does not name something inside its folder (absolute, a `..` part, or nothing at all),
    None when it does. Syntax only: a symlink on disk is the caller's to resolve. Any `..` is refused,
    even one that would come back (`a/../b`): an author never needs it, and a check that counts
    parts cannot be fooled by one."""
    path = PurePosixPath(value)
    if path.is_absolute():
        return f"{value!r}: must be relative to its folder, not absolute"
    if ".." in path.parts:
        return f"{value!r}: must stay inside its folder (no '..')"
    if not path.parts:
        return f"{value!r} names nothing inside its folder"
    return None


def relative_inside(value: str) -> str:
    """The validator of RelativePathInside: `value` unchanged, or a ValueError saying why it leads out."""
    problem = outside_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


# A relative POSIX path that stays inside the folder it is joined to (the workspace, the stack folder,
# the entry directory): `workspace / value` can never reach outside it. Kept a str, so the schema and
# the saved state read as they did.
RelativePathInside = Annotated[str, AfterValidator(relative_inside)]
