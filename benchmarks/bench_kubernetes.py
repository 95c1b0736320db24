"""The Kubernetes cluster and scenarios: build, creation and reuse of the cluster, its memory at rest,
and each scenario's start, check and verify on a warm cluster beside raw `kubectl` doing the same work.

Printed as tables; not a test. Run as root on an otherwise idle machine, with no scenario active
(the cluster is deleted and created again, `--rounds` times):

    .venv/bin/python benchmarks/bench_kubernetes.py [scenario ...] [--rounds N] [--verify] [--cold-build]

- build, cached: `scripts/k8s-offline.sh --host` with every binary already in the cache (what each
  later start pays); with --cold-build also a build into an empty scratch cache (Go's module and
  build caches included: minutes, and about 1 GiB of scratch space);
- cluster create: `ensure()` after `delete()`, the binaries cached, until every node is Ready;
  reuse: `ensure()` on the running cluster;
- memory at rest: RSS of the cluster's processes (control plane, kubelets, containerds and
  their shims) a few seconds after creation, with no scenario's pods;
- per scenario, on the warm cluster: provision (namespace, images, manifests, rollout) beside raw
  `kubectl apply -f` + `kubectl rollout status` of the same manifests into a scratch namespace;
  start to confirmed-broken with the baseline proof reused (what a learner's second `start` pays)
  and with the baseline run; `check` of the broken system; with --verify, `breakfix verify`;
- kube-proxy's endpoint change -> rules programmed latency over the scenarios' runs (its own
  histogram): how long a removed pod still receives new connections.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from measure import rss_mib, summary, timed
from rich.console import Console
from rich.table import Table

from harness import catalog, state
from harness.errors import BreakfixError
from harness.lifecycle import Lifecycle
from harness.runtime.kubernetes import providers
from harness.runtime.kubernetes.common import kubeconfig_path
from harness.runtime.kubernetes.providers.offline import OfflineCluster, bin_dir, build_script

console = Console()
SCENARIOS = ["spot-interruption", "pod-evictions", "cache-rollout"]
RAW_NAMESPACE = "bfbench-raw"


def quiet(_: str) -> None:
    """The harness's progress lines would bury the tables."""


def build_rows(cold: bool) -> list[tuple[str, str]]:
    def build(env: dict[str, str]) -> float:
        started = time.monotonic()
        subprocess.run([str(build_script()), "--host"], check=True, env={**os.environ, **env}, capture_output=True)
        return time.monotonic() - started

    rows = [("build, every binary cached (s)", f"{build({}):.1f}")]
    if cold:
        with tempfile.TemporaryDirectory(prefix="bfbench-k8s-build-") as scratch:
            seconds = build({"XDG_CACHE_HOME": scratch, "GOMODCACHE": f"{scratch}/gomod", "GOCACHE": f"{scratch}/gobuild"})
            size = sum(path.stat().st_size for path in Path(scratch, "breakfix").rglob("*") if path.is_file())
            subprocess.run(["chmod", "-R", "u+w", scratch], check=False)  # Go's module cache is read-only
        rows.append(("build, cold: empty caches (s)", f"{seconds:.0f}"))
        rows.append(("built binaries and images (MiB)", f"{size / 1024**2:.0f}"))
    return rows


def cluster_rows(rounds: int) -> list[tuple[str, str]]:
    provider = providers.select()
    if not isinstance(provider, OfflineCluster):
        return [("provider", f"{provider.provider}: creation and memory are measured on the offline provider only")]
    created, reused = [], []
    for _ in range(rounds):
        provider.delete(quiet)
        created.append(timed(functools.partial(provider.ensure, quiet, kubeconfig_path())))
        reused.append(timed(functools.partial(provider.ensure, quiet, kubeconfig_path())))
    time.sleep(5)  # past the first node-status updates
    memory = {component: sum(rss_mib(pid) for pid in pids) for component, pids in provider.processes().items()}
    rows = [("cluster create, binaries cached (s)", summary(created)), ("cluster reuse: ensure() when running (s)", summary(reused)),
            ("cluster RSS at rest, total (MiB)", f"{sum(memory.values()):.0f}")]
    rows += [(f"  of which {component} (MiB)", f"{mib:.0f}") for component, mib in sorted(memory.items(), key=lambda item: -item[1])]
    return rows


def programming_latency(cluster: OfflineCluster) -> list[tuple[float, int]]:
    """kube-proxy's own histogram of endpoint change -> rules programmed: (bucket bound, cumulative count).

    A pod's endpoint outlives its removal until this is done: the scenarios' preStop budgets are set against it."""
    url = f"http://{cluster.api_ip}:10249/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        lines = response.read().decode().splitlines()
    buckets = []
    for line in lines:
        if line.startswith("kubeproxy_network_programming_duration_seconds_bucket") and 'ip_family="IPv4"' in line:
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float(bound), int(float(line.rsplit(" ", 1)[1]))))
    return buckets


def quantile_bound(buckets: list[tuple[float, int]], since: list[tuple[float, int]], fraction: float) -> str:
    """The smallest bucket bound holding `fraction` of the changes made between the two readings."""
    before = dict(since)
    counts = [(bound, count - before.get(bound, 0)) for bound, count in buckets]
    total = counts[-1][1] if counts else 0
    if not total:
        return "no endpoint changes"
    bound = next(bound for bound, count in counts if count >= fraction * total)
    return f"<= {bound:g} s (of {total} changes)"


def kubectl(*args: str) -> None:
    tool = shutil.which("kubectl") or str(bin_dir() / "kubectl")
    subprocess.run([tool, "--kubeconfig", str(kubeconfig_path()), *args], check=True, capture_output=True, timeout=300)


def raw_apply(manifests: Path) -> float:
    """What provision does, by hand: a namespace, the manifests, their rollout (the images are already loaded)."""
    started = time.monotonic()
    kubectl("create", "namespace", RAW_NAMESPACE)
    kubectl("apply", "-n", RAW_NAMESPACE, "-f", str(manifests))
    kubectl("rollout", "status", "-n", RAW_NAMESPACE, "deployment,statefulset", "--timeout=180s")
    seconds = time.monotonic() - started
    kubectl("delete", "-n", RAW_NAMESPACE, "-f", str(manifests), "--wait")  # cluster-scoped objects too
    kubectl("delete", "namespace", RAW_NAMESPACE, "--wait")
    return seconds


def scenario_rows(entry_id: str, rounds: int, verify: bool) -> list[tuple[str, str]]:
    """(measure, value) for one scenario; a step's time is the median over the rounds."""
    entry = catalog.find(entry_id)
    raw, provision, warm, cold, check, verified = [], [], [], [], [], []
    steps: dict[str, list[float]] = {}
    for number in range(rounds):
        for reuse, into in ((False, cold), (True, warm)):
            lifecycle = Lifecycle(entry)
            lifecycle.teardown()
            into.append(timed(functools.partial(lifecycle.bring_up_broken, reuse_baseline=reuse)))
            for name, seconds in lifecycle.times.steps:
                if name not in ("teardown", "preflight"):
                    steps.setdefault(f"  {name}{'' if reuse else ', baseline run'}", []).append(seconds)
            if reuse:
                provision.append(dict(lifecycle.times.steps)["provision"])
                check.append(timed(lifecycle.grade))
            lifecycle.teardown()
            state.forget(entry_id)
        if number == 0:
            raw.append(raw_apply(entry.directory / Lifecycle(entry).scenario.stack))
        if verify:
            verified.append(Lifecycle(entry).verify().seconds)
    ratio = f" ({statistics.median(provision) / statistics.median(raw):.2f}x)" if raw and provision else ""
    return [("provision (namespace, images, manifests, rollout)", summary(provision)),
            ("raw kubectl apply + rollout status (provision / raw)", summary(raw) + ratio),
            ("start to confirmed broken, baseline proof reused", summary(warm)),
            *sorted((name, summary(values)) for name, values in steps.items() if "baseline run" not in name),
            ("start to confirmed broken, baseline run", summary(cold)),
            *sorted((name, summary(values)) for name, values in steps.items() if "baseline run" in name),
            ("check, broken system", summary(check)), ("verify", summary(verified))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenarios", nargs="*", default=SCENARIOS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--verify", action="store_true", help="also time `verify` (reference solution, no fakes)")
    parser.add_argument("--cold-build", action="store_true", help="also build every binary into an empty scratch cache")
    args = parser.parse_args()
    os.environ.setdefault("BREAKFIX_STATE_DIR", tempfile.mkdtemp(prefix="bfbench-state-"))
    console.print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus; {args.rounds} rounds; "
                  f"provider {providers.chosen()}")
    try:
        table = Table(title="Kubernetes cluster")
        table.add_column("measure")
        table.add_column("value (median of rounds)")
        for row in build_rows(args.cold_build) + cluster_rows(args.rounds):
            table.add_row(*row)
        console.print(table)

        cluster = providers.select()
        since = programming_latency(cluster) if isinstance(cluster, OfflineCluster) else []
        measured = {entry_id: scenario_rows(entry_id, args.rounds, args.verify) for entry_id in args.scenarios}
        table = Table(title="Kubernetes scenarios on a warm cluster (seconds, median of rounds)")
        table.add_column("measure")
        for entry_id in args.scenarios:
            table.add_column(entry_id)
        for index, (measure, _) in enumerate(next(iter(measured.values()), [])):
            table.add_row(measure, *(rows[index][1] for rows in measured.values()))
        console.print(table)
        if isinstance(cluster, OfflineCluster):
            latest = programming_latency(cluster)
            console.print(f"kube-proxy, endpoint change -> rules programmed during the scenarios: p50 "
                          f"{quantile_bound(latest, since, 0.5)}, p99 {quantile_bound(latest, since, 0.99)}")
    except (BreakfixError, subprocess.CalledProcessError) as exc:
        raise SystemExit(f"benchmark stopped: {exc}") from None


if __name__ == "__main__":
    main()
