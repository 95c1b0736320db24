"""End to end for the kind scenarios.

Where `kind` and a Docker engine exist, `verify --fakes` proves pod-evictions and
spot-interruption on a real cluster. Where they do not (the project's own machines: no kind
node image can be fetched), those tests skip with the preflight's own reason, and what CAN run
here does: the CLI's clean preflight failure, and the workloads image the scenarios run,
exercised in real containers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import pytest

from harness.runtime.kubernetes import images
from harness.runtime.kubernetes.providers import kind as kind_provider

KIND_SCENARIOS = ["pod-evictions", "spot-interruption"]


def kind_problem() -> str | None:
    problems = kind_provider.tool_problems()
    if not problems:
        problems = [p for p in [kind_provider.engine_problem()] if p]
    return "; ".join(problems) or None


KIND_MISSING = kind_problem()
needs_kind = pytest.mark.skipif(KIND_MISSING is not None, reason=f"no kind cluster can be created here: {KIND_MISSING}")


def cli(*args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250"}  # one table row per line
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], check=False, capture_output=True, text=True, timeout=timeout, env=env)


@needs_kind
@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("scenario", KIND_SCENARIOS)
def test_verify_with_fakes_on_a_real_cluster(scenario: str) -> None:
    result = cli("verify", scenario, "--fakes")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.skipif(KIND_MISSING is None, reason="kind is installed here: the missing-kind path cannot be shown")
def test_verify_without_kind_fails_fast_with_a_preflight_error() -> None:
    started = time.monotonic()  # one scenario is enough: both go through the same KindRuntime.preflight
    result = cli("verify", "pod-evictions", timeout=120)
    assert result.returncode == 1  # the entry failed to verify here (its preflight); 3 is for a run that cannot begin
    error = " ".join((result.stdout + result.stderr).split())  # without --json, the entry's failure is a report line
    assert "preflight failed" in error and "Traceback" not in result.stdout + result.stderr
    assert KIND_MISSING is not None and KIND_MISSING.split(":")[0] in error
    assert time.monotonic() - started < 60


@pytest.mark.skipif(KIND_MISSING is None, reason="kind is installed here")
def test_list_marks_the_kind_scenarios_as_needing_kind() -> None:
    result = cli("list", "--kind", "scenario", timeout=120)  # exit 3 when ANY entry is invalid: only our rows matter
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
