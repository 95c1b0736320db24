"""The Kubernetes runtime's providers and cluster needs, without a cluster."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness.runtime.kubernetes import providers
from harness.runtime.kubernetes.api import Kube
from harness.runtime.kubernetes.cluster import DEFAULT_NEEDS, ClusterSpec, Node, WorkerSpec, shape, unmet
from harness.runtime.kubernetes.kubelet import kubelet_view_of_host_memory
from harness.runtime.kubernetes.providers import existing, offline
from harness.runtime.kubernetes.runtime import needs_problems


def test_the_shape_is_kinds_a_tainted_control_plane_a_general_and_a_tainted_spot_worker() -> None:
    nodes = shape()
    assert [(n.name, n.role) for n in nodes] == [
        ("breakfix-control-plane", "control-plane"), ("breakfix-worker", "worker"), ("breakfix-worker2", "worker")]
    assert nodes[0].taints == ("node-role.kubernetes.io/control-plane=:NoSchedule",)
    assert nodes[1].labels == {"breakfix.dev/pool": "general"} and nodes[1].taints == () and nodes[1].memory_budget
    assert nodes[2].taints == ("breakfix.dev/spot=true:NoSchedule",) and not nodes[2].memory_budget
    assert unmet(DEFAULT_NEEDS, nodes) == []


def test_needs_name_what_a_cluster_lacks() -> None:
    bare = [Node("a", "control-plane"), Node("b", "worker")]
    assert unmet(DEFAULT_NEEDS, bare) == [
        "no worker with breakfix.dev/pool=general, breakfix's kubelet memory budget",
        "no worker with breakfix.dev/pool=spot, taint breakfix.dev/spot=true:NoSchedule"]
    # one node cannot serve two needs, even when it would match both
    twice = ClusterSpec(workers=[WorkerSpec(labels={"x": "1"}), WorkerSpec(labels={"x": "1"})])
    assert unmet(twice, [Node("w", "worker", {"x": "1"})]) == ["no worker with x=1"]
    # a tainted worker does not serve a need that does not tolerate its taint
    assert unmet(ClusterSpec(workers=[WorkerSpec()]), [Node("w", "worker", taints=("k=v:NoSchedule",))]) == ["no worker with any worker"]


def test_nodeports_outside_kinds_mappings_are_said_before_anything_is_created() -> None:
    needs = ClusterSpec(node_ports=[30800, 30999])
    assert needs_problems(providers.get("kind"), needs) == [
        "NodePort 30999 is not published on 127.0.0.1 (infra/kind/cluster.yaml extraPortMappings)"]
    assert needs_problems(providers.get("offline"), needs) == []  # kube-proxy serves every NodePort on 127.0.0.1


def test_provider_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BREAKFIX_K8S_PROVIDER", raising=False)
    monkeypatch.setattr(providers.shutil, "which", lambda tool: None)
    assert providers.chosen() == "offline"
    monkeypatch.setattr(providers.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    assert providers.chosen() == "kind"
    monkeypatch.setenv("BREAKFIX_K8S_PROVIDER", "existing")
    assert providers.select().provider == "existing"  # never picked unless asked
    monkeypatch.setenv("BREAKFIX_K8S_PROVIDER", "minikube")
    with pytest.raises(Exception, match="providers are kind, offline, existing"):
        providers.select()


def test_teardown_deletes_only_this_instances_priority_classes() -> None:
    def klass(name: str, owner: str | None) -> Any:
        return SimpleNamespace(metadata=SimpleNamespace(name=name, labels={"breakfix.instance": owner} if owner else {}))

    deleted: list[str] = []

    class Scheduling:
        def list_priority_class(self, **_: Any) -> Any:
            return SimpleNamespace(items=[klass("bf-pod-evictions-api", "pod-evictions"), klass("bf-pod-evictions-by-hand", None),
                                          klass("bf-other-api", "other"), klass("system-node-critical", None),
                                          klass("bf-pod-evictions-x", "other")])

        def delete_priority_class(self, name: str) -> None:
            deleted.append(name)

    kube = Kube("pod-evictions")
    kube.__dict__["scheduling"] = Scheduling()
    kube.delete_cluster_scoped()
    assert deleted == ["bf-pod-evictions-api", "bf-pod-evictions-by-hand"]


def test_offline_nodes_get_their_own_addresses_subnets_bridges_and_cgroups() -> None:
    cluster = offline.OfflineCluster()
    assert [(n.ip, n.pod_subnet, n.cni_bridge, n.cgroup_root) for n in cluster.nodes] == [
        ("10.250.0.10", "10.244.0.0/24", "bfcni0", "/breakfix-breakfix-control-plane"),
        ("10.250.0.11", "10.244.1.0/24", "bfcni1", "/breakfix-breakfix-worker"),
        ("10.250.0.12", "10.244.2.0/24", "bfcni2", "/breakfix-breakfix-worker2")]
    assert all(not ip.startswith("127.") for ip in (n.ip for n in cluster.nodes))  # the API server refuses loopback
    assert offline._taint("breakfix.dev/spot=true:NoSchedule") == {"key": "breakfix.dev/spot", "value": "true", "effect": "NoSchedule"}
    assert offline._taint("node-role.kubernetes.io/control-plane=:NoSchedule") == {
        "key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


def test_the_pause_image_is_a_docker_archive_tagged_as_containerd_expects(tmp_path: Path) -> None:
    binary = tmp_path / "pause"
    binary.write_bytes(b"\x7fELF pause")
    with tarfile.open(fileobj=io.BytesIO(offline._pause_archive(binary))) as archive:
        manifest = json.load(archive.extractfile("manifest.json"))  # type: ignore[arg-type]
        assert manifest[0]["RepoTags"] == [offline.PAUSE_IMAGE]
        config = json.load(archive.extractfile(manifest[0]["Config"]))  # type: ignore[arg-type]
        assert config["config"]["Entrypoint"] == ["/pause"]
        with tarfile.open(fileobj=archive.extractfile("layer/layer.tar")) as layer:
            assert layer.getmember("pause").mode == 0o755


def test_the_kubelets_view_of_memory_counts_inactive_page_cache_as_available(tmp_path: Path) -> None:
    memory = tmp_path / "memory"
    memory.mkdir()
    (memory / "memory.usage_in_bytes").write_text(str(6 * 1024**3))
    (memory / "memory.stat").write_text(f"cache 100\ntotal_inactive_file {2 * 1024**3}\n")
    total = int(Path("/proc/meminfo").read_text().split()[1]) * 1024
    assert kubelet_view_of_host_memory(tmp_path) == total - 4 * 1024**3


def test_the_budget_is_laid_again_only_when_free_memory_moved_past_the_tolerance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = offline.OfflineCluster()
    cluster.dir = tmp_path
    (tmp_path / "budget-available").write_text(str(10 * 1024**3))
    restarted: list[str] = []
    monkeypatch.setattr(cluster, "_stop", lambda pid: None)
    monkeypatch.setattr(cluster, "_kubelet", lambda node, available: restarted.append(f"{node.name} {available // 1024**2}"))
    monkeypatch.setattr(cluster, "_wait", lambda *args: None)
    monkeypatch.setattr(offline, "kubelet_view_of_host_memory", lambda: 10 * 1024**3 + 100 * 1024**2)
    cluster.refresh_budget(lambda _: None)
    assert restarted == []  # within the tolerance: no kubelet restart
    monkeypatch.setattr(offline, "kubelet_view_of_host_memory", lambda: 9 * 1024**3)
    cluster.refresh_budget(lambda _: None)
    assert restarted == ["breakfix-worker 9216"]  # only the general worker carries the budget


@pytest.mark.parametrize(("reference", "reported"), [
    ("breakfix/kind-workloads:1", "docker.io/breakfix/kind-workloads:1"),
    ("nginx", "docker.io/library/nginx:latest"),
    ("registry.local:5000/team/app", "registry.local:5000/team/app:latest"),
    ("localhost/app:2", "localhost/app:2"),
])
def test_image_references_are_spelled_out_the_way_the_kubelet_reports_them(reference: str, reported: str) -> None:
    assert existing.canonical_image(reference) == reported


def node_item(name: str, images: list[str], *, control_plane: bool = False, padding: int = 0) -> dict[str, Any]:
    taints = [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}] if control_plane else []
    held = [{"names": [f"docker.io/{image}"]} for image in images] + [{"names": [f"docker.io/library/filler{i}:1"]} for i in range(padding)]
    return {"metadata": {"name": name}, "spec": {"taints": taints}, "status": {"images": held}}


def test_an_existing_cluster_names_the_images_its_workers_lack_and_how_to_load_them_for_its_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = existing.ExistingCluster()
    monkeypatch.setenv(existing.CONTEXT_ENV, "kind-dev")
    items = [node_item("cp", [], control_plane=True), node_item("w1", ["breakfix/kind-workloads:1"]), node_item("w2", [])]
    monkeypatch.setattr(cluster, "_listed_nodes", lambda: items)
    problems = cluster.missing_images({"breakfix/kind-workloads:1"})
    assert problems[0] == "image breakfix/kind-workloads:1 is not on node(s) w2 and pods never pull it"
    assert "`kind load docker-image breakfix/kind-workloads:1 --name dev`" in problems[1]
    items[2] = node_item("w2", ["breakfix/kind-workloads:1"])
    assert cluster.missing_images({"breakfix/kind-workloads:1"}) == []


def test_a_node_whose_image_list_the_kubelet_cut_short_is_not_said_to_lack_anything(monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = existing.ExistingCluster()
    monkeypatch.setenv(existing.CONTEXT_ENV, "prod")
    monkeypatch.setattr(cluster, "_listed_nodes", lambda: [node_item("w1", [], padding=existing.NODE_STATUS_MAX_IMAGES)])
    assert cluster.missing_images({"breakfix/kind-workloads:1"}) == []


@pytest.mark.parametrize(("context", "command"), [
    ("k3d-lab", "`k3d image import a b -c lab`"),
    ("minikube", "`minikube image load a b`"),
    ("prod", "`docker save a b | ctr -n k8s.io images import -` on each node"),
])
def test_the_load_command_follows_the_kind_of_cluster(context: str, command: str) -> None:
    assert existing.load_command(context, ["a", "b"]) == command


def test_a_worker_under_memory_pressure_right_now_is_still_the_worker_its_labels_and_taints_say(monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = existing.ExistingCluster()
    monkeypatch.setenv(existing.CONTEXT_ENV, "prod")
    general = node_item("w1", [])
    general["metadata"]["labels"] = {"breakfix.dev/pool": "general"}
    general["spec"]["taints"] = [{"key": "node.kubernetes.io/memory-pressure", "effect": "NoSchedule"}]
    spot = node_item("w2", [])
    spot["metadata"]["labels"] = {"breakfix.dev/pool": "spot"}
    spot["spec"]["taints"] = [{"key": "breakfix.dev/spot", "value": "true", "effect": "NoSchedule"},
                              {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]
    monkeypatch.setattr(cluster, "_listed_nodes", lambda: [general, spot])
    monkeypatch.setattr(cluster, "_budget", lambda node: True)
    assert [(n.name, n.taints) for n in cluster.nodes()] == [("w1", ()), ("w2", ("breakfix.dev/spot=true:NoSchedule",))]
    assert unmet(DEFAULT_NEEDS, cluster.nodes()) == []


def _fake_iptables(monkeypatch: pytest.MonkeyPatch, tables: dict[str, list[str]]) -> list[list[str]]:
    """iptables that lists `tables` for -S and records every command it is given."""
    commands: list[list[str]] = []

    def iptables(args: list[str], **_: Any) -> SimpleNamespace:
        commands.append(args)
        return SimpleNamespace(stdout="\n".join(tables[args[args.index("-t") + 1]]) if args[-1] == "-S" else "")

    monkeypatch.setattr(offline.subprocess, "run", iptables)
    return commands


def test_deleting_the_offline_cluster_removes_the_chains_its_kubelets_made_and_their_jumps(monkeypatch: pytest.MonkeyPatch) -> None:
    tables = {"filter": ["-P INPUT ACCEPT", "-N KUBE-FIREWALL", "-N KUBE-KUBELET-CANARY", "-N DOCKER", "-A INPUT -j KUBE-FIREWALL",
                         "-A OUTPUT -j KUBE-FIREWALL", "-A FORWARD -j DOCKER", "-A KUBE-FIREWALL -d 127.0.0.0/8 -j DROP"],
              "nat": ["-N KUBE-KUBELET-CANARY"], "mangle": []}
    commands = _fake_iptables(monkeypatch, tables)
    assert offline._kubelet_chains_present() == [("filter", "KUBE-FIREWALL"), ("filter", "KUBE-KUBELET-CANARY"), ("nat", "KUBE-KUBELET-CANARY")]
    commands.clear()
    offline._drop_kubelet_chains()
    assert [c[4] for c in commands if c[-1] == "-S"] == ["filter", "nat", "mangle"], "each table is listed once"
    changes = [c[5:] for c in commands if c[-1] != "-S"]
    assert changes == [["-D", "INPUT", "-j", "KUBE-FIREWALL"], ["-D", "OUTPUT", "-j", "KUBE-FIREWALL"], ["-F", "KUBE-FIREWALL"], ["-X", "KUBE-FIREWALL"],
                       ["-F", "KUBE-KUBELET-CANARY"], ["-X", "KUBE-KUBELET-CANARY"], ["-F", "KUBE-KUBELET-CANARY"], ["-X", "KUBE-KUBELET-CANARY"]]


def test_deleting_the_offline_cluster_removes_only_the_rules_tagged_with_its_comment(monkeypatch: pytest.MonkeyPatch) -> None:
    tagged = f"-A FORWARD -s 10.244.0.0/16 -m comment --comment {offline.RULE_COMMENT} -j ACCEPT"
    tables = {"filter": ["-P FORWARD DROP", tagged, "-A FORWARD -j DOCKER"],
              "nat": [f"-A POSTROUTING -s 10.244.0.0/16 -m comment --comment {offline.RULE_COMMENT} -j MASQUERADE"]}
    commands = _fake_iptables(monkeypatch, tables)
    assert offline._tagged_rules(offline.RULE_COMMENT) == [("filter", tagged), ("nat", tables["nat"][0])], "what leftovers() reports"
    commands.clear()
    offline._drop_rules(offline.RULE_COMMENT)
    assert [c[3:] for c in commands if c[-1] != "-S"] == [
        ["-t", "filter", "-D", "FORWARD", "-s", "10.244.0.0/16", "-m", "comment", "--comment", offline.RULE_COMMENT, "-j", "ACCEPT"],
        ["-t", "nat", "-D", "POSTROUTING", "-s", "10.244.0.0/16", "-m", "comment", "--comment", offline.RULE_COMMENT, "-j", "MASQUERADE"]]
