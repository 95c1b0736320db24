"""How a pydantic validation error reads: one line, `field: problem; field: problem`.

Every place that validates an author's or a machine's input (manifests, compose stacks, fault
parameters, instance state) says what went wrong the same way, so a message names the field
the same way wherever it comes from.
"""

from __future__ import annotations

import re

from pydantic import ValidationError


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
