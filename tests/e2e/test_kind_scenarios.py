"""End to end for the Kubernetes scenarios, on whichever provider runs here.

`verify --fakes` proves pod-evictions and spot-interruption on a real cluster: kind where its
binary is, else the offline provider (host processes built from the Go module proxy: CI's
machines), else BREAKFIX_K8S_PROVIDER's. They run only with BREAKFIX_E2E_KUBERNETES=1 (CI cannot
afford a cold build) and then skip, with the provider's own reason, only where no provider can run. The cluster tests show what the scenarios rely on: kind's node shape, a NodePort
on 127.0.0.1 reaching pods on both workers through kube-proxy, `kubectl logs`/`exec` with the
printed kubeconfig, and a namespace torn down to the API's 404. The kind-specific failure paths
run where kind is missing, by asking for kind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.runtime.kubernetes import images, providers
from harness.runtime.kubernetes.api import Kube
from harness.runtime.kubernetes.cluster import shape
from harness.runtime.kubernetes.common import kubeconfig_path
from harness.runtime.kubernetes.providers import kind as kind_provider

KIND_SCENARIOS = ["pod-evictions", "spot-interruption", "cache-rollout"]
PROVIDER = providers.select()


def provider_problem() -> str | None:
    try:
        problems = PROVIDER.problems()
    except Exception as exc:  # noqa: BLE001 - any failure to even ask is the reason to skip
        problems = [str(exc)]
    return "; ".join(problems) or None


# Opt-in: a cold build of the offline provider's binaries takes 5 min on an idle 2-core machine of ours (15-25 beside other work) and
# pod-evictions' verify --fakes another ~30 min, far past CI's 30-minute budget (the build measured in stop 24, the verify in stop 19).
OPT_IN = "BREAKFIX_E2E_KUBERNETES"
PROBLEM = (provider_problem() if os.environ.get(OPT_IN) == "1"
           else f"set {OPT_IN}=1 to build/create a real cluster and verify the Kubernetes scenarios on it")
needs_cluster = pytest.mark.skipif(PROBLEM is not None, reason=f"no Kubernetes cluster for this run ({PROVIDER.provider}): {PROBLEM}")
KIND_MISSING = "; ".join(kind_provider.tool_problems()) or None


def cli(*args: str, timeout: float = 3000, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "COLUMNS": "250", **(env or {})}  # one table row per line
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], check=False, capture_output=True, text=True, timeout=timeout, env=full)


@pytest.fixture
def cluster() -> Path:
    """The shared cluster, created (and for the offline provider built) on first use, reused after (one /readyz);
    the kubeconfig is written into each test's own state dir."""
    PROVIDER.ensure(lambda line: print(line, flush=True), kubeconfig_path())
    return kubeconfig_path()


@pytest.fixture
def namespace(cluster: Path) -> Iterator[Kube]:
    kube = Kube(f"k8s-e2e-{os.getpid()}")
    kube.create_namespace()
    yield kube
    kube.delete_namespace()
    assert not kube.namespace_exists()


def kubectl(kubeconfig: Path, *args: str, timeout: float = 60) -> str:
    from harness.runtime.kubernetes.providers.offline import bin_dir

    built = bin_dir() / "kubectl"  # the offline build's matches the server; else the learner's own
    binary = str(built) if built.is_file() else "kubectl"
    result = subprocess.run([binary, f"--kubeconfig={kubeconfig}", *args], check=False, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@needs_cluster
@pytest.mark.docker
@pytest.mark.slow
def test_the_cluster_has_kinds_shape(cluster: Path) -> None:
    nodes = json.loads(kubectl(cluster, "get", "nodes", "-o", "json"))["items"]
    found = {n["metadata"]["name"]: n for n in nodes}
    for node in shape():
        live = found[node.name]
        assert any(c["type"] == "Ready" and c["status"] == "True" for c in live["status"]["conditions"]), node.name
        assert node.labels.items() <= live["metadata"]["labels"].items()
        taints = {f"{t['key']}={t.get('value', '')}:{t['effect']}" for t in live["spec"].get("taints") or []}
        assert set(node.taints) <= taints
        address = next(a["address"] for a in live["status"]["addresses"] if a["type"] == "InternalIP")
        assert not address.startswith("127."), "node addresses are on an interface of the cluster's own, never loopback"


@needs_cluster
@pytest.mark.docker
@pytest.mark.slow
def test_a_nodeport_on_loopback_reaches_pods_on_both_workers_and_kubectl_reads_them(cluster: Path, namespace: Kube) -> None:
    images.ensure_workload_image(lambda _: None)
    PROVIDER.load_images([images.WORKLOAD_IMAGE], lambda _: None)
    port = 30809  # mapped for this test in infra/kind/cluster.yaml; no scenario uses it
    namespace.apply([
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "echo"}, "spec": {
            "replicas": 2, "selector": {"matchLabels": {"app": "echo"}},
            "template": {"metadata": {"labels": {"app": "echo"}}, "spec": {
                "tolerations": [{"key": "breakfix.dev/spot", "operator": "Exists", "effect": "NoSchedule"}],
                "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
                                               "labelSelector": {"matchLabels": {"app": "echo"}}}],
                "containers": [{"name": "api", "image": images.WORKLOAD_IMAGE, "imagePullPolicy": "Never", "args": ["api"],
                                "ports": [{"containerPort": 8080}]}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "echo"}, "spec": {
            "type": "NodePort", "selector": {"app": "echo"}, "ports": [{"port": 80, "targetPort": 8080, "nodePort": port}]}},
    ])
    namespace.wait_ready(180)
    pods = namespace.pods("app=echo")
    assert len({p.spec.node_name for p in pods}) == 2, "the spread puts one replica on each worker"
    served = set()
    deadline = time.monotonic() + 60
    while len(served) < 2 and time.monotonic() < deadline:  # bounded: 2 backends behind kube-proxy's random choice
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/orders/1", timeout=5) as response:
            assert response.status == 200
            served.add(json.loads(response.read()).get("pod") or response.headers.get("X-Pod") or "")
        time.sleep(0.1)
    assert served == {p.metadata.name for p in pods}, "kube-proxy balances the loopback NodePort over both workers' pods"
    ns = namespace.namespace
    logs = kubectl(cluster, "-n", ns, "logs", pods[0].metadata.name)
    assert "serving on :8080" in logs
    assert kubectl(cluster, "-n", ns, "exec", pods[0].metadata.name, "--", "cat", "/proc/1/cmdline").strip()


@needs_cluster
@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("scenario", KIND_SCENARIOS)
def test_verify_with_fakes_on_a_real_cluster(scenario: str, cluster: Path) -> None:
    result = cli("verify", scenario, "--fakes")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.skipif(KIND_MISSING is None, reason="kind is installed here: the missing-kind path cannot be shown")
def test_asking_for_kind_without_kind_fails_fast_with_a_preflight_error() -> None:
    started = time.monotonic()  # one scenario is enough: both go through the same preflight
    result = cli("verify", "pod-evictions", timeout=120, env={"BREAKFIX_K8S_PROVIDER": "kind"})
    assert result.returncode == 1  # the entry failed to verify here (its preflight); 3 is for a run that cannot begin
    error = " ".join((result.stdout + result.stderr).split())  # without --json, the entry's failure is a report line
    assert "preflight failed" in error and "Traceback" not in result.stdout + result.stderr
    assert KIND_MISSING is not None and KIND_MISSING.split(":")[0] in error
    assert time.monotonic() - started < 60


@pytest.mark.skipif(KIND_MISSING is None, reason="kind is installed here")
def test_list_marks_the_kubernetes_scenarios_as_not_ready_when_the_chosen_provider_cannot_run() -> None:
    result = cli("list", "--kind", "scenario", timeout=120, env={"BREAKFIX_K8S_PROVIDER": "kind"})  # exit 3: any entry invalid
    rows = [line for line in result.stdout.splitlines() if line.startswith(("pod-evictions ", "spot-interruption "))]
    assert len(rows) == 2 and all("✗ kind" in row for row in rows)


# -- the workloads image, in real containers ------------------------------------------------------------


@pytest.fixture(scope="module")
def workload_image() -> str:
    images.ensure_workload_image(lambda _: None)
    return images.WORKLOAD_IMAGE


@pytest.fixture
def run_container(workload_image: str):  # type: ignore[no-untyped-def]
    from harness.runtime.docker import connect

    client = connect()
    started = []

    def run(name: str, *args: str, **kwargs):  # type: ignore[no-untyped-def]
        container = client.containers.run(workload_image, list(args), name=f"bf-kindtest-{name}-{os.getpid()}", detach=True,
                                          labels={"breakfix.instance": "kind-e2e-workloads"}, **kwargs)
        started.append(container)
        return container

    yield run
    for container in started:
        container.remove(force=True)


def wait_log(container, text: str, seconds: float = 30) -> str:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        logs = container.logs().decode()
        if text in logs:
            return logs
        time.sleep(0.3)
    raise AssertionError(f"{text!r} not in logs within {seconds}s: {container.logs().decode()[-500:]}")


@pytest.mark.docker
def test_batch_sizes_its_buffers_from_its_memory_limit(run_container) -> None:  # type: ignore[no-untyped-def]
    bounded = run_container("bounded", "batch", mem_limit="256m", memswap_limit="256m", environment={"RAMP_MIB_PER_SECOND": "128"})
    unbounded = run_container("unbounded", "batch", environment={"UNBOUNDED_MIB": "48", "RAMP_MIB_PER_SECOND": "64"})
    assert "memory limit 256 MiB: report buffers of 192 MiB" in wait_log(bounded, "holding 192 MiB")
    assert "memory limit none: report buffers of 48 MiB" in wait_log(unbounded, "holding 48 MiB")
    bounded.reload()
    assert not bounded.attrs["State"]["OOMKilled"]


@pytest.mark.docker
def test_cache_reports_ready_only_once_loaded(run_container) -> None:  # type: ignore[no-untyped-def]
    cache = run_container("cache", "cache", environment={"CACHE_MIB": "64"})
    wait_log(cache, "cache loaded: 64 MiB")
    code, output = cache.exec_run(["cat", "/tmp/ready"])
    assert code == 0 and output.decode().strip() == "64"


@pytest.mark.docker
def test_api_keeps_serving_while_it_drains_then_stops(run_container) -> None:  # type: ignore[no-untyped-def]
    api = run_container("api", "api", environment={"DRAIN_SECONDS": "2"}, ports={"8080/tcp": ("127.0.0.1", None)})
    wait_log(api, "serving on :8080")
    api.reload()
    port = api.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/orders/7", timeout=5) as response:
        assert response.status == 200 and b'"order": "7"' in response.read()
    api.kill(signal="SIGTERM")
    wait_log(api, "draining for 2s", 10)
    try:  # during the drain: still answering, but no longer healthy
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
        raise AssertionError("healthz must fail while draining")
    except urllib.error.HTTPError as exc:
        assert exc.code == 503
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/orders/8", timeout=5) as response:
        assert response.status == 200
    assert api.wait(timeout=15)["StatusCode"] == 0
