"""The requirements a manifest may declare (`requires:`) and what provides each: one table.

A row names, by dotted path (`module:attribute`, imported only when used, like testinfra's backend
dict): the runtime factory per entry kind, the doctor's findings, and the check that a scenario's
stack is one this runtime can provision. It also says which grading fixtures the runtime backs,
which requirement it brings along (Terraform's backend lives in the AWS emulator), whether it needs
the Docker engine, and its place in the order: provisioning goes up it, teardown down it.

Adding a runtime is its module (a factory taking a `Setup`, a findings function, optionally a stack
check) and one `register(...)` line at the end of this file.

This module imports nothing of breakfix at run time, so the manifest can take the names from it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.manifest import AnyManifest, ScenarioManifest
    from harness.runtime import Runtime


@dataclass(frozen=True)
class Setup:
    """What a runtime factory gets: the instance, the learner's live copy and the entry's installed one."""

    instance: str
    workspace: Path
    directory: Path
    manifest: AnyManifest


@dataclass(frozen=True)
class StackCheck:
    """What a stack check gets: the scenario, its stack path, and the catalog's rule that a path stays
    inside the entry (`inside(field, path)` raises a BreakfixError naming the manifest and the field)."""

    manifest_file: Path
    stack: Path
    manifest: ScenarioManifest
    inside: Callable[[str, Path], None]


@dataclass(frozen=True)
class Finding:
    """One line of `breakfix doctor`: an item a requirement needs, whether it is there, and how to get it."""

    requirement: str
    item: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Registration:
    name: str
    order: int
    factories: Mapping[str, str]  # entry kind -> "module:function(Setup) -> Runtime"; no factory, no runtime
    doctor: str  # "module:function() -> list[Finding]"
    fixtures: tuple[str, ...] = ()  # grading fixtures that reach this runtime
    stack: str | None = None  # "module:function(StackCheck) -> None" when this runtime provisions a scenario's stack
    implies: tuple[str, ...] = ()
    engine: bool = False  # needs a reachable Docker engine before anything is changed


REGISTRY: dict[str, Registration] = {}


def register(registration: Registration) -> Registration:
    if registration.name in REGISTRY:
        raise ValueError(f"requirement {registration.name!r} is registered twice")
    REGISTRY[registration.name] = registration
    return registration


def load(path: str) -> Any:
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


def names() -> list[str]:
    """Every known requirement, in order."""
    return [registration.name for registration in sorted(REGISTRY.values(), key=lambda registration: registration.order)]


def ordered(requirements: Iterable[str]) -> list[Registration]:
    """The registrations `requirements` need, what they imply included, in order; unknown names are left out
    (a validated manifest has none; the doctor reports them itself)."""
    wanted: set[str] = set()
    pending = list(requirements)
    while pending:
        name = pending.pop()
        if name in REGISTRY and name not in wanted:
            wanted.add(name)
            pending.extend(REGISTRY[name].implies)
    return sorted((REGISTRY[name] for name in wanted), key=lambda registration: registration.order)


def runtimes(setup: Setup) -> dict[str, Runtime]:
    """The entry's runtimes by requirement name, in order (a dict keeps it)."""
    found: dict[str, Runtime] = {}
    for registration in ordered(setup.manifest.requires):
        factory = registration.factories.get(setup.manifest.kind)
        if factory is not None:
            found[registration.name] = load(factory)(setup)
    return found


def stack_providers() -> list[str]:
    """The requirements whose runtime provisions a scenario's stack: a scenario needs at least one."""
    return [name for name in names() if REGISTRY[name].stack is not None]


def stack_checks(requirements: Iterable[str]) -> list[Callable[[StackCheck], None]]:
    """The stack checks of the runtimes that would provision a stack for these requirements, in order."""
    return [load(registration.stack) for registration in ordered(requirements) if registration.stack is not None]


def needs_engine(requirements: Iterable[str]) -> bool:
    return any(registration.engine for registration in ordered(requirements))


def fixtures(requirements: Iterable[str]) -> set[str]:
    """The grading fixtures an entry with these requirements can use."""
    return {fixture for registration in ordered(requirements) for fixture in registration.fixtures}


_BUILTIN = "harness.runtime.builtin"

register(Registration(
    "docker", 10, {"scenario": f"{_BUILTIN}:compose_stack", "lab": f"{_BUILTIN}:sandbox"}, "harness.doctor:docker_findings",
    fixtures=("host", "inspect", "sandbox"), stack=f"{_BUILTIN}:check_compose_stack", engine=True,
))
register(Registration(
    "kind", 20, {"scenario": "harness.runtime.kubernetes.runtime:from_setup"}, "harness.runtime.kubernetes.doctor:findings",
    fixtures=("kube", "pod_host"), stack=f"{_BUILTIN}:check_manifests_stack", engine=True,
))
register(Registration("aws", 30, {"scenario": f"{_BUILTIN}:aws"}, "harness.doctor:aws_findings", fixtures=("aws",)))
register(Registration(
    "terraform", 40, {"scenario": f"{_BUILTIN}:terraform"}, "harness.doctor:terraform_findings",
    fixtures=("terraform",), stack=f"{_BUILTIN}:check_terraform_stack", implies=("aws",),
))
register(Registration("pki", 5, {"scenario": "harness.runtime.pki:from_setup"}, "harness.runtime.pki:findings"))  # the lab CA's files exist before any container starts
register(Registration(  # an account of the scenario's own, with IAM enforced: the shared emulator on 4566 accepts any key
    "aws-iam", 35, {"scenario": "harness.runtime.aws_account:from_setup"}, "harness.runtime.aws_account:findings",
    stack="harness.runtime.aws_account:check_stack",
))
