"""The registry's hooks for the runtimes breakfix ships (harness.registry names them by path).

Factories turn an entry's `Setup` into its runtime; stack checks prove, when the catalog loads
an entry, that a scenario's stack is one the runtime could provision. Each imports its runtime
only when called: listing the catalog never loads the kubernetes client or boto3.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import BreakfixError

if TYPE_CHECKING:
    from harness.manifest import ScenarioManifest
    from harness.registry import Setup, StackCheck
    from harness.runtime import Runtime
    from harness.runtime.terraform import TerraformRuntime

DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")


def _scenario(setup: Setup) -> ScenarioManifest:
    from harness.manifest import ScenarioManifest

    assert isinstance(setup.manifest, ScenarioManifest), "only scenarios have a stack"
    return setup.manifest


# -- factories: built on the workspace copy, so the learner's edits are live ----------------------


def compose_stack(setup: Setup) -> Runtime:
    from harness.runtime.docker import ComposeStack, DockerRuntime

    return ComposeStack(DockerRuntime(setup.instance), setup.workspace / _scenario(setup).stack)


def sandbox(setup: Setup) -> Runtime:
    from harness.runtime.sandbox_runtime import SandboxRuntime  # a lab's code runs in sandbox containers

    return SandboxRuntime(setup.instance)


def aws(setup: Setup) -> Runtime:
    from harness.runtime.aws import AwsRuntime

    return AwsRuntime(setup.instance)


def terraform(setup: Setup) -> TerraformRuntime:  # the terraform-lock signal reads its backend too, not only the Runtime protocol
    from harness.runtime.terraform import TerraformRuntime

    manifest = _scenario(setup)
    stack = Path(manifest.stack).parent
    spec = manifest.terraform
    home = setup.workspace.parent / "terraform"  # beside the workspace, in the instance's directory
    return TerraformRuntime(setup.instance, setup.workspace / stack, setup.directory / stack, spec.workspaces, spec.state_key, home)


# -- stack checks ---------------------------------------------------------------------------------


def check_manifests_stack(check: StackCheck) -> None:
    from harness.manifest import load_yaml_documents

    # Kubernetes manifests, checked offline against the API schemas
    from harness.runtime.kubernetes.manifests import validate_stack

    stack = check.stack
    if not stack.is_dir():
        raise BreakfixError(f"{check.manifest_file}: stack: a kind scenario's stack is a folder of Kubernetes manifests")
    for path in sorted(stack.glob("*.yaml")):
        check.inside("stack", path)
        load_yaml_documents(path)  # bad bytes, duplicate keys and deep nesting, before the Kubernetes loader
    try:
        validate_stack(stack)
    except BreakfixError as exc:
        raise BreakfixError(f"{stack}: " + "; ".join(line.strip(" -") for line in str(exc).splitlines() if line.strip(" -"))) from None


def check_compose_stack(check: StackCheck) -> None:
    """Whatever its file name, a Docker scenario's stack is a compose file checked as start would use it."""
    from harness.runtime.compose import load_stack

    where, manifest, stack_file = check.manifest_file, check.manifest, check.stack
    if not stack_file.is_file():
        raise BreakfixError(f"{where}: stack: a Docker scenario's stack is a compose file")
    stack = load_stack(stack_file)
    unknown = set(manifest.services) - set(stack.services)
    if unknown:
        raise BreakfixError(f"{where}: services: not in the stack: {sorted(unknown)}")
    if manifest.entrypoint is not None:
        published = [host for host, _, _ in stack.services[manifest.entrypoint.service].published()]
        if manifest.entrypoint.port not in published:
            raise BreakfixError(
                f"{where}: entrypoint.url: port {manifest.entrypoint.port} is not published by service "
                f"{manifest.entrypoint.service} (it publishes {', '.join(map(str, published)) or 'none'})"
            )
    declared = {mount.path.rstrip("/") or "/" for mount in manifest.host_mounts}
    folder = stack_file.parent.resolve()
    for name, service in stack.services.items():
        for source in service.host_paths():
            field = f"{stack_file}: services.{name}.volumes: {source!r}"
            if source.startswith("/"):
                if (source.rstrip("/") or "/") not in declared:
                    what = "the host's root" if source.rstrip("/") == "" else "the Docker socket" if source in DOCKER_SOCKETS else "a host path"
                    raise BreakfixError(
                        f"{field}: mounts {what} into the container; declare it in scenario.yaml host_mounts with the reason, "
                        "or mount a path inside the stack folder"
                    )
                continue
            try:
                inside = (stack_file.parent / source).resolve().is_relative_to(folder)
            except (OSError, RuntimeError):
                inside = False
            if not inside:
                raise BreakfixError(f"{field}: leads outside the stack folder (the learner's workspace is a copy of it only)")


def check_terraform_stack(check: StackCheck) -> None:
    if check.stack.suffix != ".tf":
        raise BreakfixError(
            f"{check.manifest_file}: stack: {check.manifest.stack!r}: a Terraform stack names its .tf file (e.g. stack/terraform/main.tf)"
        )
