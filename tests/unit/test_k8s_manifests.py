"""Every Kubernetes manifest and the kind cluster config, validated offline (no cluster can run here).

Manifests are checked against the Kubernetes OpenAPI schemas that kubernetes-validate ships
(strict: unknown fields fail); the kind config, which is not a Kubernetes API object, against
what breakfix's runtime relies on. The scenarios' memory arithmetic is checked too: that is
what makes their evictions deterministic.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness import catalog
from harness.images import BASE_IMAGE
from harness.paths import content_root
from harness.runtime.kubernetes import common, images, kubelet, manifests, objects

ROOT = content_root()
KIND_SCENARIOS = ["pod-evictions", "spot-interruption", "cache-rollout"]
MIB = 1024**2


def manifest_files() -> list[Path]:
    files = []
    for scenario in KIND_SCENARIOS:
        directory = ROOT / "scenarios" / scenario
        files += sorted((directory / "stack" / "manifests").glob("*.yaml")) + sorted((directory / "broken").glob("*.yaml"))
    return files


def documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def by_name(directory: Path) -> dict[tuple[str, str], dict]:
    return {(d["kind"], d["metadata"]["name"]): d for path in sorted(directory.glob("*.yaml")) for d in documents(path)}


def pod_spec(deployment: dict) -> dict:
    return deployment["spec"]["template"]["spec"]


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: f"{p.parent.parent.name if p.parent.name == 'broken' else p.parents[2].name}/{p.parent.name}/{p.name}")
def test_manifest_matches_the_kubernetes_schema(path: Path) -> None:
    assert manifests.schema_problems(documents(path), str(path)) == []


@pytest.mark.parametrize("scenario", KIND_SCENARIOS)
def test_scenario_loads_through_the_catalog_with_its_faults(scenario: str) -> None:
    entry = catalog.load_entry(ROOT / "scenarios" / scenario)  # validate_entry: files, schemas
    assert entry.manifest.requires == ["kind"]
    from harness.faults import build

    for index, spec in enumerate(entry.manifest.faults):
        fault = build(spec, index)
        for target, source in fault.params.replace.items():
            assert (entry.directory / target).is_file(), f"{target} is not in the healthy stack"
            assert source is None or (entry.directory / source).is_file(), f"{source} missing"


def test_every_image_is_local_and_never_pulled() -> None:
    for path in manifest_files():
        for document in documents(path):
            if document["kind"] not in ("Deployment", "StatefulSet"):
                continue
            for container in pod_spec(document)["containers"]:
                # the workloads image, or the base image itself (cache-rollout: redis-server + its ConfigMap's code)
                assert container["image"] in (images.WORKLOAD_IMAGE, BASE_IMAGE), f"{path}: {container['image']} is not built locally"
                assert container["imagePullPolicy"] == "Never", f"{path}: {container['name']} could try a registry pull"


# -- the kind cluster config -----------------------------------------------------------------------------


def cluster_config() -> dict:
    return yaml.safe_load((common.infra_dir() / "cluster.yaml").read_text())


def test_cluster_has_a_control_plane_a_general_and_a_spot_worker() -> None:
    config = cluster_config()
    assert (config["kind"], config["apiVersion"], config["name"]) == ("Cluster", "kind.x-k8s.io/v1alpha4", common.CLUSTER)
    roles = [node["role"] for node in config["nodes"]]
    assert roles.count("control-plane") >= 1 and roles.count("worker") == 2
    pools = sorted(node["labels"][common.POOL_LABEL] for node in config["nodes"] if node["role"] == "worker")
    assert pools == ["general", "spot"]
    allowed = {"role", "labels", "extraPortMappings", "image", "extraMounts", "kubeadmConfigPatches"}
    for node in config["nodes"]:
        assert set(node) <= allowed, f"unknown kind node fields: {set(node) - allowed}"


def test_node_ports_reach_the_host_on_loopback_only_and_cover_every_service() -> None:
    mappings = [m for node in cluster_config()["nodes"] for m in node.get("extraPortMappings", [])]
    assert mappings and all(m["listenAddress"] == "127.0.0.1" for m in mappings)
    mapped = {m["containerPort"] for m in mappings}
    for path in manifest_files():
        for document in documents(path):
            if document["kind"] == "Service" and document["spec"].get("type") == "NodePort":
                ports = {port["nodePort"] for port in document["spec"]["ports"]}
                assert ports <= mapped, f"{path}: nodePort(s) {ports - mapped} are not mapped to 127.0.0.1 by the kind config"


def test_scenario_entrypoints_use_the_mapped_host_ports() -> None:
    mapped = {m["hostPort"] for node in cluster_config()["nodes"] for m in node.get("extraPortMappings", [])}
    for scenario in KIND_SCENARIOS:
        entrypoint = catalog.load_entry(ROOT / "scenarios" / scenario).manifest.entrypoint
        if entrypoint:
            assert int(entrypoint.url.rsplit(":", 1)[1].split("/")[0]) in mapped


def test_kubelet_fragment_uses_real_signals_and_quantities() -> None:
    fragment = yaml.safe_load((common.infra_dir() / "kubelet-worker.yaml").read_text())
    assert (fragment["apiVersion"], fragment["kind"]) == ("kubelet.config.k8s.io/v1beta1", "KubeletConfiguration")
    signals = {"memory.available", "nodefs.available", "nodefs.inodesFree", "imagefs.available", "imagefs.inodesFree", "pid.available"}
    assert set(fragment["evictionHard"]) <= signals
    settings = kubelet.kubelet_settings(8 * 1024**3, fragment)
    for reserved in ("systemReserved", "kubeReserved"):
        assert objects.parse_quantity(settings[reserved]["memory"]) > 0
    assert objects.parse_quantity(settings["evictionHard"]["memory.available"]) > 0
    taint = yaml.safe_load((common.infra_dir() / "spot-taint.yaml").read_text())
    assert taint["effect"] in ("NoSchedule", "PreferNoSchedule", "NoExecute")


# -- pod-evictions: the arithmetic that makes the evictions deterministic -------------------------------------


def memory(container: dict, field: str) -> float:
    return objects.parse_quantity(((container.get("resources") or {}).get(field) or {}).get("memory", 0))


def budget() -> tuple[float, float]:
    """(node memory, allocatable) of a worker, in bytes."""
    fragment = yaml.safe_load((common.infra_dir() / "kubelet-worker.yaml").read_text())
    node = objects.parse_quantity(fragment["nodeMemory"])
    reserved = sum(objects.parse_quantity(fragment[key]["memory"]) for key in ("systemReserved", "kubeReserved"))
    return node, node - reserved


def env_mib(container: dict, name: str, default: int) -> float:
    return int(next((e["value"] for e in container.get("env") or [] if e["name"] == name), default)) * MIB


def test_healthy_pod_evictions_fits_its_node_and_the_broken_one_overflows_it() -> None:
    """Both sides at least 1 GiB away from the eviction threshold: the host's page cache moved by ~1 GB between real runs."""
    scenario = ROOT / "scenarios" / "pod-evictions"
    healthy, broken = by_name(scenario / "stack" / "manifests"), by_name(scenario / "broken")
    node_memory, allocatable = budget()
    deployments = {name: doc for (kind_, name), doc in healthy.items() if kind_ == "Deployment"}
    requested = sum(doc["spec"]["replicas"] * memory(c, "requests") for doc in deployments.values() for c in pod_spec(doc)["containers"])
    assert requested <= allocatable, f"healthy requests {requested / MIB:.0f} MiB exceed allocatable {allocatable / MIB:.0f} MiB"

    # the builder uses 75% of its limit when it has one, UNBOUNDED_MIB when not; an API pod uses ~25 MiB
    builder = pod_spec(deployments["report-builder"])["containers"][0]
    cache = env_mib(pod_spec(deployments["price-cache"])["containers"][0], "CACHE_MIB", 448)
    swing = 1024 * MIB
    used = 2 * 25 * MIB + cache + 2 * 0.75 * memory(builder, "limits")
    assert used + swing <= node_memory, f"the healthy node ({used / MIB:.0f} MiB) sits less than 1 GiB under its {node_memory / MIB:.0f} MiB budget"
    broken_builder = pod_spec(broken[("Deployment", "report-builder")])["containers"][0]
    assert memory(broken_builder, "limits") == 0
    overflow = 2 * 25 * MIB + cache + 2 * env_mib(broken_builder, "UNBOUNDED_MIB", 640)
    assert overflow >= node_memory + swing, f"the broken batch ({overflow / MIB:.0f} MiB) must push the node over its budget by 1 GiB or more"


def test_pod_evictions_broken_state_puts_the_api_first_in_the_kubelets_line() -> None:
    scenario = ROOT / "scenarios" / "pod-evictions"
    healthy, broken = by_name(scenario / "stack" / "manifests"), by_name(scenario / "broken")
    assert objects.qos_class(pod_spec(healthy[("Deployment", "orders-api")])) == "Guaranteed"
    assert objects.qos_class(pod_spec(broken[("Deployment", "orders-api")])) == "BestEffort"
    assert "priorityClassName" not in pod_spec(broken[("Deployment", "orders-api")])
    assert pod_spec(broken[("Deployment", "report-builder")])["priorityClassName"] == "bf-pod-evictions-batch-reports"
    assert objects.qos_class(pod_spec(healthy[("Deployment", "price-cache")])) == "Guaranteed"  # the cache never exceeds its requests
    values = {name: doc["value"] for (kind_, name), doc in healthy.items() if kind_ == "PriorityClass"}
    assert values["bf-pod-evictions-orders-api-critical"] > values["bf-pod-evictions-batch-reports"]
    # cluster-wide names carry the instance's namespace: another lab's teardown never removes them
    assert all(name.startswith(common.namespace_for("pod-evictions") + "-") for name in values)


def test_spot_interruption_healthy_state_spreads_budgets_and_drains() -> None:
    scenario = ROOT / "scenarios" / "spot-interruption"
    healthy, broken = by_name(scenario / "stack" / "manifests"), by_name(scenario / "broken")
    good, bad = pod_spec(healthy[("Deployment", "checkout")]), pod_spec(broken[("Deployment", "checkout")])
    assert healthy[("Deployment", "checkout")]["spec"]["replicas"] >= 2 and broken[("Deployment", "checkout")]["spec"]["replicas"] == 1
    assert good["topologySpreadConstraints"][0]["topologyKey"] == "kubernetes.io/hostname" and "nodeSelector" not in good
    assert bad["nodeSelector"] == {common.POOL_LABEL: "spot"} and "topologySpreadConstraints" not in bad
    assert ("PodDisruptionBudget", "checkout") in healthy and ("PodDisruptionBudget", "checkout") not in broken
    pre_stop = good["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
    assert float(pre_stop[-1]) < good["terminationGracePeriodSeconds"]
    assert "lifecycle" not in bad["containers"][0]
