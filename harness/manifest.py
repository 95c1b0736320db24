"""The manifest schema of scenarios (scenario.yaml) and labs (lab.yaml): the single source of truth.

Everything the lifecycle does is driven by what is declared here; a manifest that does not
validate never reaches the lifecycle, and the error names the file, the field and the problem.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness.errors import BreakfixError

Requirement = Literal["docker", "kind", "aws", "terraform"]
Difficulty = Literal["easy", "medium", "hard"]
QUESTION_ID = re.compile(r"^[BCDT]\d{1,2}$")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,40}$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FaultSpec(Strict):
    """One fault to inject: its kind names an implementation in harness.faults."""

    kind: str
    params: dict[str, Any] = Field(default_factory=dict)


class FakeFix(Strict):
    """A tempting non-fix the checks must reject; `script` is applied to the broken system."""

    id: str
    summary: str
    script: str

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError("must be lower-case letters, digits and dashes")
        return value


class Confirm(Strict):
    """Which checks must fail once the faults are in, and how long the symptom may take to show."""

    failing: list[str] = Field(min_length=1)
    timeout: float = Field(default=60, gt=0, le=600)
    interval: float = Field(default=1, gt=0, le=30)


class Entrypoint(Strict):
    """What the learner talks to: a service's published port on 127.0.0.1."""

    service: str
    url: str

    @field_validator("url")
    @classmethod
    def _loopback_only(cls, value: str) -> str:
        if not re.match(r"^https?://127\.0\.0\.1:\d+(/.*)?$", value):
            raise ValueError("must be http(s)://127.0.0.1:<port>[/path] -- breakfix serves on loopback only")
        return value


class Manifest(Strict):
    """Fields common to scenarios and labs."""

    id: str
    title: str = Field(min_length=3, max_length=80)
    summary: str = Field(min_length=10)
    difficulty: Difficulty
    tags: list[str] = Field(default_factory=list)
    question: str
    time_limit: int = Field(default=30, gt=0, le=480, description="minutes")
    requires: list[Requirement] = Field(default_factory=list)
    hints: list[str] = Field(default_factory=list, description="hint files in the order they are given")
    check_timeout: float = Field(default=120, gt=0, le=1800, description="seconds for one grading run")
    fake_fixes: list[FakeFix] = Field(default_factory=list, description="non-fixes (or wrong implementations) the checks must reject")

    @field_validator("id")
    @classmethod
    def _id_is_slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError("must be 2-41 lower-case letters, digits and dashes")
        return value

    @field_validator("question")
    @classmethod
    def _known_question_shape(cls, value: str) -> str:
        if not QUESTION_ID.match(value):
            raise ValueError("must be a question-bank id such as T3 or C5")
        return value


class TerraformSpec(Strict):
    """What the Terraform runtime applies at provision: one remote state per CLI workspace."""

    workspaces: list[str] = Field(default_factory=lambda: ["default"], min_length=1, description="the first is left selected")
    state_key: str = Field(default="terraform.tfstate", pattern=r"^[a-z0-9][a-z0-9/_.-]*\.tfstate$")


class ScenarioManifest(Manifest):
    kind: Literal["scenario"] = "scenario"
    stack: str = "stack/compose.yaml"
    services: list[str] = Field(min_length=1)
    entrypoint: Entrypoint | None = None
    faults: list[FaultSpec] = Field(min_length=1)
    confirm: Confirm
    terraform: TerraformSpec = Field(default_factory=TerraformSpec, description="used when requires has terraform")

    @model_validator(mode="after")
    def _entrypoint_is_a_service(self) -> ScenarioManifest:
        if self.entrypoint and self.entrypoint.service not in self.services:
            raise ValueError(f"entrypoint.service {self.entrypoint.service!r} is not one of services {self.services}")
        return self


class SandboxLimits(Strict):
    """Limits of every sandbox run of a lab's learner code; a check may override them per call."""

    memory: str = Field(default="256m", pattern=r"^\d+[kmg]$", description="docker size, e.g. 256m")
    cpus: float = Field(default=1, gt=0, le=8)
    pids: int = Field(default=64, ge=8, le=4096)
    seconds: float = Field(default=60, gt=0, le=1800, description="wall-clock limit of one run")


class LabManifest(Manifest):
    kind: Literal["lab"] = "lab"
    language: Literal["python"] = "python"
    entry: str = Field(description="the file in starter/ the learner implements")
    limits: SandboxLimits = Field(default_factory=SandboxLimits, description="sandbox limits: memory, cpus, pids, seconds")


AnyManifest = ScenarioManifest | LabManifest
MANIFEST_FILES = {"scenario.yaml": ScenarioManifest, "lab.yaml": LabManifest}


def _describe(error: ValidationError, path: Path) -> str:
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        problems.append(f"{where}: {item['msg']}")
    return f"{path}: " + "; ".join(problems)


def load_manifest(path: Path) -> AnyManifest:
    """Parse and validate one manifest file; any problem is a BreakfixError naming file and field."""
    model = MANIFEST_FILES.get(path.name)
    if model is None:
        raise BreakfixError(f"{path}: not a manifest (expected one of {', '.join(MANIFEST_FILES)})")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise BreakfixError(f"{path}:{where} invalid YAML: {getattr(exc, 'problem', exc)}") from None
    except OSError as exc:
        raise BreakfixError(f"{path}: cannot read: {exc.strerror}") from None
    if not isinstance(data, dict):
        raise BreakfixError(f"{path}: must be a mapping of fields, got {type(data).__name__}")
    try:
        manifest = model.model_validate(data)
    except ValidationError as exc:
        raise BreakfixError(_describe(exc, path)) from None
    if manifest.id != path.parent.name:
        raise BreakfixError(f"{path}: id: {manifest.id!r} must match its directory name {path.parent.name!r}")
    return manifest
