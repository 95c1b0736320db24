"""The check API: the one module of breakfix that scenario and lab checks import.

A check file (`scenarios/<id>/checks/`, `labs/<id>/checks/`, `test_*.py` and `conftest.py`)
imports pytest, the standard library, its own helpers in the same folder, and from breakfix
only this module; a unit test fails on any other `harness` import. Internals move; these names
stay. Each is documented where it is defined; this is the list.

Fixtures (the grading plugin provides them; ask for them by name, import nothing):

    instance          the running instance (InstanceContext): .instance (its id), .entry
                      (.id, .directory: the installed copy of the entry, e.g. its solution/),
                      .workspace, .entrypoint_url, .container(service), .container_name(service),
                      .exec(service, command) -> (exit code, output), .processes(service) (`docker
                      top`, no exec), .publisher_of(host_port), .load_balancer_problem(service)
                      (None, or why the entrypoint is not that service's), .stopped(service)
    host(service)     a testinfra host on that service's container
    inspect(service)  `docker inspect` of that service's container, fresh on every call
    http_load         the bounded, loopback-only HTTP load probe (below)
    sandbox           labs: a Sandbox running the learner's code in throwaway containers
    aws(service)      a boto3 client bound to the AWS emulator, never real AWS
    terraform         the instance's TerraformRuntime: plan_problem(ws), state(ws[, version]),
                      lock(ws), history(ws), baseline(), run(name)
    kube              the instance's namespace on the kind cluster (Kube): .core / .apps /
                      .policy / .scheduling clients, .namespace, .pods(selector), .events()
    pod_host(pod)     a testinfra host on kubectl://<pod> in the instance's namespace

Names (import them: `from harness.checks import http_load, LoadResult`):

    every check
        InstanceContext       the type of the `instance` fixture
        BreakfixError         raise it when a check cannot run (an error, never a FAIL)
        cached_input(lab_id, name, build)   a large generated input, built once, cached
    probes
        http_load(url, paths, total=, concurrency=, timeout=, deadline=, ...) -> LoadResult
        LoadResult, Response  its result (status histogram, per-request responses)
        sample(read, count=, interval=) -> [(t, value)];  slope(series) -> per unit of t
        oversubscribed(per_core=4, during=) -> bool   the machine too busy for a latency to measure the code
        RunQueue              `with RunQueue() as queue:` samples the host's runnable tasks for `during=`
    labs (the sandbox)
        Sandbox, Endpoint, SandboxNetwork, SandboxFailure
        RunResult, CaseResult, Findings   what sandbox.run / run_batch / findings return
    Terraform
        resource_instances(state data) -> {address: attributes};  StateRead;  TerraformRuntime
    Kubernetes
        Kube;  pod_ready(pod);  rolled_out(deployment);  qos_class(pod spec);  parse_quantity(q)
        evictions(events) -> [Eviction];  evicted_pods(pods);  Eviction
        drain_node(kube, node, notice=[, serving_path=]) -> DrainResult (.served: how long each evicted pod answered)
        pod_answers(kube, pod, path) -> bool   the pod itself, through the API server's proxy;  set_unschedulable(kube, node, flag)
        wait_for(predicate, seconds, interval=2.0) -> bool   (bounded polling; never retry a check with it)
    TLS (harness.pki: the lab CA a `pki` scenario provisions)
        CertificateAuthority, Usage, Validity;  load_authority(chain, key, root=) -> CertificateAuthority
        load_certificates(pem);  subject_alt_names(cert);  verify_chain(leaf, intermediates, roots, server_name=, at=)

Only the first group and the probes load with this module; the others are imported on first
use, so a Docker scenario's checks never load boto3 or the kubernetes client.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from harness.errors import BreakfixError
from harness.grading.context import InstanceContext
from harness.grading.inputs import cached_input
from harness.probes import LoadResult, Response, RunQueue, http_load, oversubscribed, sample, slope

if TYPE_CHECKING:
    from harness.faults.kubernetes import DrainResult, drain_node, pod_answers, set_unschedulable
    from harness.pki import CertificateAuthority, Usage, Validity, load_authority, load_certificates, subject_alt_names, verify_chain
    from harness.runtime.kubernetes.api import Kube
    from harness.runtime.kubernetes.objects import (
        Eviction,
        evicted_pods,
        evictions,
        parse_quantity,
        pod_ready,
        qos_class,
        rolled_out,
        wait_for,
    )
    from harness.runtime.sandbox import Endpoint, Sandbox, SandboxFailure, SandboxNetwork
    from harness.runtime.sandbox_results import CaseResult, Findings, RunResult
    from harness.runtime.terraform import StateRead, TerraformRuntime, resource_instances

# name -> the module defining it, imported on first use (PEP 562)
_LAZY = {
    **dict.fromkeys(["Endpoint", "Sandbox", "SandboxFailure", "SandboxNetwork"], "harness.runtime.sandbox"),
    **dict.fromkeys(["CaseResult", "Findings", "RunResult"], "harness.runtime.sandbox_results"),
    **dict.fromkeys(["StateRead", "TerraformRuntime", "resource_instances"], "harness.runtime.terraform"),
    **dict.fromkeys(
        ["Eviction", "evicted_pods", "evictions", "parse_quantity", "pod_ready", "qos_class", "rolled_out", "wait_for"],
        "harness.runtime.kubernetes.objects",
    ),
    "Kube": "harness.runtime.kubernetes.api",
    **dict.fromkeys(["DrainResult", "drain_node", "pod_answers", "set_unschedulable"], "harness.faults.kubernetes"),
    **dict.fromkeys(
        ["CertificateAuthority", "Usage", "Validity", "load_authority", "load_certificates", "subject_alt_names", "verify_chain"], "harness.pki"
    ),
}

# every public name: the eager imports above and the keys of _LAZY (a unit test keeps them in step)
__all__ = [
    "BreakfixError",
    "CaseResult",
    "CertificateAuthority",
    "DrainResult",
    "Endpoint",
    "Eviction",
    "Findings",
    "InstanceContext",
    "Kube",
    "LoadResult",
    "Response",
    "RunResult",
    "RunQueue",
    "Sandbox",
    "SandboxFailure",
    "SandboxNetwork",
    "StateRead",
    "TerraformRuntime",
    "Usage",
    "Validity",
    "cached_input",
    "drain_node",
    "evicted_pods",
    "evictions",
    "http_load",
    "load_authority",
    "load_certificates",
    "oversubscribed",
    "parse_quantity",
    "pod_answers",
    "pod_ready",
    "qos_class",
    "resource_instances",
    "rolled_out",
    "sample",
    "set_unschedulable",
    "slope",
    "subject_alt_names",
    "verify_chain",
    "wait_for",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # once: later lookups skip this hook
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
