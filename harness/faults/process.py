"""Process behaviour switches: flip a flag an application reads at runtime (app-level bugs).

A running process's environment cannot be changed from outside, so the switch is a JSON flags
file the app reads (per request, or on the reload signal given as `reload`) -- the way feature
flags reach a process in production. Writing and restoring the file is file-drift's job; this
fault only computes the new content: the original flags with one flag set.
"""

from __future__ import annotations

import json

from pydantic import Field, field_validator

from harness.errors import BreakfixError
from harness.faults import FaultContext, register
from harness.faults.files import FileRewrite, FileTargetParams


class AppSwitchParams(FileTargetParams):
    """The file the switch rewrites (service, path, reload), plus the flag to set."""

    path: str = Field(description="absolute path of the app's JSON flags file (its directory must exist)")
    flag: str = Field(min_length=1)
    value: bool | int | float | str

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("path must be absolute inside the container")
        return value


@register
class AppSwitch(FileRewrite[AppSwitchParams]):
    kind = "app-switch"

    def _new_content(self, ctx: FaultContext, original: bytes | None) -> bytes:
        params = self.params
        try:
            flags = json.loads(original) if original else {}
        except ValueError:
            raise BreakfixError(f"{self.kind}: {params.path} in {params.service} is not a JSON object of flags") from None
        if not isinstance(flags, dict):
            raise BreakfixError(f"{self.kind}: {params.path} in {params.service} is not a JSON object of flags")
        return json.dumps({**flags, params.flag: params.value}, indent=2).encode() + b"\n"
