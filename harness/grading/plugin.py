"""The pytest plugin checks run under: fixtures for the instance, its hosts, runtimes and probes.

Modelled on testinfra's own plugin: fixtures only. Checks ask for `instance`, `host`,
`http_load`, `inspect`, ... and never build their own connections, so every check sees the same
instance. The grading runner puts the instance's context in `config.stash[CONTEXT]`; loaded on
its own (`pytest -p harness.grading.plugin <checks dir>`), the plugin grades the active instance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
import testinfra

from harness import probes
from harness.grading.context import CONTEXT, InstanceContext, active_context

if TYPE_CHECKING:
    from harness.runtime.sandbox import Sandbox


@pytest.fixture(scope="session")
def instance(pytestconfig: pytest.Config) -> InstanceContext:
    """The running instance: entry, workspace, containers, entrypoint URL, runtimes."""
    context = pytestconfig.stash.get(CONTEXT, None)
    if context is None:  # a plain pytest run: no runner handed one over
        context = pytestconfig.stash[CONTEXT] = active_context()
    return context


@pytest.fixture(scope="session")
def host(instance: InstanceContext) -> Callable[[str], Any]:
    """host(service) -> a testinfra host on docker://<that service's container>."""
    cache: dict[str, Any] = {}

    def get(service: str) -> Any:
        if service not in cache:
            cache[service] = testinfra.get_host(f"docker://{instance.container_name(service)}")
        return cache[service]

    return get


@pytest.fixture(scope="session")
def kube(instance: InstanceContext) -> Any:
    """The instance's namespace on the Kubernetes cluster: kube.core / .apps / .policy clients, kube.namespace, kube.pods()."""
    from harness.runtime.kubernetes.api import Kube

    return Kube(instance.instance)


@pytest.fixture(scope="session")
def pod_host(kube: Any) -> Callable[[str], Any]:
    """pod_host(pod name) -> a testinfra host on kubectl://<pod> in the instance's namespace."""
    from harness.runtime.kubernetes.common import current_context, kubeconfig_path

    def get(pod: str) -> Any:
        # the harness's kubeconfig names one context, whichever provider wrote it
        return testinfra.get_host(f"kubectl://{pod}?namespace={kube.namespace}&kubeconfig={kubeconfig_path()}&context={current_context()}")

    return get


@pytest.fixture(scope="session")
def http_load() -> Callable[..., probes.LoadResult]:
    """The bounded HTTP load probe (loopback only): http_load(url, paths, total=..., ...)."""
    return probes.http_load


@pytest.fixture(scope="session")
def inspect(instance: InstanceContext) -> Callable[[str], dict[str, Any]]:
    """inspect(service) -> `docker inspect` of that service's container, fresh on every call."""

    def get(service: str) -> dict[str, Any]:
        container = instance.container(service)
        container.reload()
        attrs: dict[str, Any] = container.attrs
        return attrs

    return get


@pytest.fixture(scope="session")
def sandbox(instance: InstanceContext) -> Iterator[Sandbox]:
    """Runs the learner's code of a lab in throwaway containers with the lab's limits; removes them after the grading run."""
    from harness.manifest import LabManifest
    from harness.runtime.sandbox import Sandbox  # only labs run code in a sandbox

    manifest = instance.entry.manifest
    assert isinstance(manifest, LabManifest), f"{instance.entry.id} is not a lab: only a lab's checks have a sandbox"
    with Sandbox(instance.instance, instance.workspace, manifest.limits) as box:
        yield box


@pytest.fixture(scope="session")
def aws() -> Callable[[str], Any]:
    """aws(service) -> a boto3 client bound to the active AWS endpoint (the emulator), never real AWS.

    Fails the check with a readable message when the emulator is not answering (it died)."""
    from harness.runtime import aws as runtime

    if runtime.identify(runtime.endpoint_url()) is None:
        raise AssertionError(
            f"the AWS emulator at {runtime.endpoint_url()} is not answering (it may have died): "
            "`breakfix reset` restarts it and rebuilds the scenario"
        )
    return runtime.client


@pytest.fixture(scope="session")
def terraform(instance: InstanceContext, aws: Callable[[str], Any]) -> Any:
    """The instance's TerraformRuntime: plan(workspace) on a pristine copy, state(), lock(), history(), run(name)."""
    return instance.runtime("terraform")
