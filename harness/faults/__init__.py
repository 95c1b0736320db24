"""Fault library: each fault family in its own module, each fault an inject() and a revert().

A scenario declares faults by kind and parameters; `build` validates the parameters with the
fault's own pydantic model, so a typo in scenario.yaml is an error at load time, not mid-run.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from abc import ABC, abstractmethod
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, get_args

from pydantic import AfterValidator, ConfigDict, ValidationError

from harness.errors import BreakfixError
from harness.manifest import FaultSpec, NoBoolNumbers
from harness.runtime import Runtime
from harness.validation import problems

if TYPE_CHECKING:
    from harness.runtime.docker import DockerRuntime


class FaultParams(NoBoolNumbers):  # `timeout: true` is not a number of seconds
    model_config = ConfigDict(extra="forbid", frozen=True)


def size_at_least(minimum: str) -> AfterValidator:
    """For a parameter typed `Annotated[str, size_at_least("6m")]`: a docker size such as 64m, refused
    below `minimum` (a smaller one cannot do what the fault means)."""
    from harness.sizes import size_bytes

    def check(value: str) -> str:
        with suppress(ValueError):
            if size_bytes(value) >= size_bytes(minimum):
                return value
        raise ValueError(f"{value!r} is not a size of at least {minimum} such as 64m")

    return AfterValidator(check)


@dataclass
class FaultContext:
    """What a fault acts on: the instance and its runtimes, the scenario's files, and a place to keep its undo."""

    instance: str
    entry_dir: Path
    state_dir: Path
    workspace: Path | None = None  # the learner's copy of the stack: faults on manifests rewrite it too
    runtimes: list[Runtime] = field(default_factory=list)  # the instance's runtimes, for faults on non-Docker ones
    docker_runtime: DockerRuntime | None = None  # made on first use of `docker` unless given (tests give a fake)

    @property
    def docker(self) -> DockerRuntime:
        """The instance's containers on the engine: made when a fault first asks, so a Terraform fault
        never needs the Docker SDK or an engine."""
        if self.docker_runtime is None:
            from harness.runtime.docker import DockerRuntime

            self.docker_runtime = DockerRuntime(self.instance)
        return self.docker_runtime

    def runtime(self, name: str) -> Any:
        """The instance's runtime called `name` (e.g. "terraform"); an error when the scenario does not require it."""
        for runtime in self.runtimes:
            if runtime.name == name:
                return runtime
        raise BreakfixError(f"this fault needs the {name} runtime: add {name!r} to the scenario's requires")

    def save(self, key: str, data: Any) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / f"{key}.json").write_text(json.dumps(data))

    def load(self, key: str) -> Any:
        path = self.state_dir / f"{key}.json"
        return json.loads(path.read_text()) if path.exists() else None

    def forget(self, key: str) -> None:
        (self.state_dir / f"{key}.json").unlink(missing_ok=True)


P = TypeVar("P", bound=FaultParams)


class Fault(ABC, Generic[P]):
    """inject() and revert() must both be idempotent: reset and teardown may call them again.

    A fault names its parameters once, as its type argument (`class Stop(Fault[StopParams])`):
    `params` is typed by it, and `Params` (what `build` validates a scenario's params with) is
    set from it."""

    kind: ClassVar[str]
    Params: ClassVar[type[FaultParams]]
    # what the fault changes outside the workspace's files (a container's settings, a server's memory): its
    # fix is live too, so a submission of files alone cannot show it (`breakfix grade` refuses such scenarios)
    live_state: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in getattr(cls, "__orig_bases__", ()):
            for argument in get_args(base):
                if isinstance(argument, type) and issubclass(argument, FaultParams):
                    cls.Params = argument

    def __init__(self, params: P, key: str) -> None:
        self.params = params
        self.key = key  # unique per fault in a scenario; names its saved undo state

    @abstractmethod
    def inject(self, ctx: FaultContext) -> None: ...

    @abstractmethod
    def revert(self, ctx: FaultContext) -> None: ...


AnyFault = Fault[Any]
REGISTRY: dict[str, type[AnyFault]] = {}
F = TypeVar("F", bound=type[AnyFault])


def register(cls: F) -> F:
    REGISTRY[cls.kind] = cls
    return cls


def _load_families() -> None:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


def build(spec: FaultSpec, index: int) -> AnyFault:
    _load_families()
    cls = REGISTRY.get(spec.kind)
    if cls is None:
        raise BreakfixError(f"faults[{index}].kind: unknown fault {spec.kind!r} (known: {', '.join(sorted(REGISTRY))})")
    try:
        params = cls.Params.model_validate(spec.params)
    except ValidationError as exc:
        raise BreakfixError(f"faults[{index}] ({spec.kind}).params: {problems(exc)}") from None
    return cls(params, key=f"{index:02d}-{spec.kind}")
