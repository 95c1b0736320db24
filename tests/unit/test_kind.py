"""The kind runtime's own logic, against the kubernetes client's models: no cluster needed."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from harness import timing
from harness.errors import BreakfixError
from harness.faults import FaultContext, build
from harness.faults.kubernetes import ManifestDrift, drain_node
from harness.manifest import FaultSpec
from harness.runtime import PreparesGrading
from harness.runtime.kubernetes import api, common, kubelet, manifests, objects, providers
from harness.runtime.kubernetes import runtime as kruntime
from harness.runtime.kubernetes.providers import kind as kind_provider
from harness.runtime.kubernetes.providers.kind import KindCluster
from harness.runtime.kubernetes.providers.offline import OfflineCluster

NOW = dt.datetime(2026, 1, 1, 3, 0, tzinfo=dt.UTC)


def pod(name: str, *, phase: str = "Running", ready: bool = True, reason: str | None = None, deleting: bool = False) -> client.V1Pod:
    conditions = [client.V1PodCondition(type="Ready", status="True" if ready else "False")]
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, uid=f"uid-{name}", deletion_timestamp=NOW if deleting else None),
        status=client.V1PodStatus(phase=phase, conditions=conditions, reason=reason),
    )


def event(pod_name: str, reason: str, message: str, at: dt.datetime | None, kind_: str = "Pod") -> client.CoreV1Event:
    return client.CoreV1Event(
        metadata=client.V1ObjectMeta(name=f"{pod_name}.1"),
        involved_object=client.V1ObjectReference(kind=kind_, name=pod_name),
        reason=reason, message=message, last_timestamp=at,
    )


# -- naming, labels, environment ---------------------------------------------------------------


@pytest.mark.parametrize(("provider", "context"), [(KindCluster(), "kind-breakfix"), (OfflineCluster(), "breakfix")])
def test_each_instance_gets_its_own_namespace_and_the_learner_env_names_it(isolated_state: Path, provider: Any, context: str) -> None:
    runtime = kruntime.KubernetesRuntime("pod-evictions", Path("/nowhere"), provider=provider)
    assert common.namespace_for("pod-evictions") == "bf-pod-evictions"
    assert runtime.env() == {
        "KUBECONFIG": str(isolated_state / "kubernetes" / "kubeconfig"),
        "BREAKFIX_KUBE_CONTEXT": context,
        "BREAKFIX_NAMESPACE": "bf-pod-evictions",
        "BREAKFIX_K8S_PROVIDER": provider.provider,
    }
    assert api.Kube("x").labels() == {"breakfix.instance": "x"}


def test_version_parsing_reads_kind_and_kubectl_output() -> None:
    assert common.version_tuple("kind v0.27.0 go1.23.4 linux/amd64") == (0, 27, 0)
    assert common.version_tuple("Client Version: v1.32.4-dispatcher") == (1, 32, 4)
    assert common.version_tuple("nothing here") == ()


# -- preflight ---------------------------------------------------------------------------------


def test_missing_kind_is_a_one_line_error_saying_where_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kind_provider.shutil, "which", lambda tool: None if tool == "kind" else f"/usr/bin/{tool}")
    problems = kruntime.KubernetesRuntime("pod-evictions", Path("/nowhere"), provider=KindCluster()).preflight()
    assert problems == ["Kubernetes provider kind: " + common.INSTALL["kind"]]
    assert problems[0].startswith("Kubernetes provider kind: kind not found: install from https://kind.sigs.k8s.io/")


def test_an_old_kind_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kind_provider.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    monkeypatch.setattr(kind_provider, "run", lambda command, **_: "kind v0.17.0 go1.19 linux/amd64")
    assert kind_provider.tool_problems() == ["kind 0.17.0 is too old: breakfix needs kind >= v0.20"]


def test_a_failing_command_becomes_a_breakfix_error_with_its_output(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(BreakfixError, match="failed: boom"):
        common.run(["sh", "-c", "echo boom >&2; exit 3"])

    def missing(*args: Any, **kwargs: Any) -> None:
        raise FileNotFoundError

    monkeypatch.setattr(common.subprocess, "run", missing)
    with pytest.raises(BreakfixError, match="kind not found: install from"):
        common.run(["kind", "get", "clusters"])


def test_teardown_without_a_cluster_has_nothing_to_remove(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kind_provider.shutil, "which", lambda tool: None)
    kruntime.KubernetesRuntime("pod-evictions", Path("/nowhere"), provider=KindCluster()).teardown()  # no error, no API call


def test_teardown_of_an_offline_cluster_a_reboot_stopped_asks_nothing_of_its_dead_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = OfflineCluster()
    cluster.dir = tmp_path
    (tmp_path / "pids.json").write_text(json.dumps({"kube-apiserver": 2**22 + 1}))  # a pid no process has
    assert cluster.exists() and not cluster.running()
    runtime = kruntime.KubernetesRuntime("spot-interruption", Path("/nowhere"), provider=cluster)
    monkeypatch.setattr(runtime.kube, "delete_namespace", lambda: pytest.fail("a dead cluster's API was asked"))
    runtime.teardown()


def test_a_kind_cluster_whose_nodes_exited_is_stopped_and_the_next_ensure_recreates_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    commands: list[list[str]] = []
    states = {"running": "running\nrunning\n", "stopped": "exited\nrunning\n"}
    current = ["stopped"]

    def run(command: list[str], **_: Any) -> str:
        commands.append(command)
        if command[:3] == ["kind", "get", "clusters"]:
            return "breakfix\n"
        return states[current[0]] if command[:2] == ["docker", "ps"] else ""

    monkeypatch.setattr(kind_provider.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    monkeypatch.setattr(kind_provider, "run", run)
    monkeypatch.setattr(kind_provider, "stream", lambda command, progress: commands.append(command))
    monkeypatch.setattr(KindCluster, "configure_workers", lambda self, progress, kubeconfig: None)
    cluster = KindCluster()
    assert cluster.exists() and not cluster.running()
    assert ["docker", "ps", "--all", "--filter", "label=io.x-k8s.kind.cluster=breakfix", "--format", "{{.State}}"] in commands
    said: list[str] = []
    cluster.ensure(said.append, tmp_path / "kubeconfig")
    verbs = [command[:3] for command in commands if command[0] == "kind"]
    assert ["kind", "delete", "cluster"] in verbs and verbs.index(["kind", "delete", "cluster"]) < verbs.index(["kind", "create", "cluster"])
    assert "kind cluster breakfix is stopped (its node containers exited): creating it afresh" in said
    current[0], commands[:] = "running", []
    assert cluster.running()
    cluster.ensure(said.append, tmp_path / "kubeconfig")
    assert [command[:3] for command in commands if command[0] == "kind"] == [["kind", "get", "clusters"], ["kind", "export", "kubeconfig"]]


# -- manifests -----------------------------------------------------------------------------------


def test_manifests_load_in_file_order_and_reject_non_objects(tmp_path: Path) -> None:
    (tmp_path / "20-b.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n")
    (tmp_path / "10-a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n")
    assert [d["metadata"]["name"] for d in manifests.load_manifests(tmp_path)] == ["a", "b"]
    (tmp_path / "30-c.yaml").write_text("just: a mapping\n")
    with pytest.raises(BreakfixError, match="30-c.yaml: document 1 is not a Kubernetes object"):
        manifests.load_manifests(tmp_path)
    with pytest.raises(BreakfixError, match="no Kubernetes manifests"):
        manifests.load_manifests(tmp_path / "empty")


def test_schema_validation_catches_typos_wrong_types_unknown_kinds_and_fixed_namespaces() -> None:
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "prod"},
        "spec": {"replicas": "two", "selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}, "spec": {
            "containers": [{"name": "c", "image": "i", "resources": {"requets": {"memory": "1Mi"}}}]}}},
    }
    problems = manifests.schema_problems([deployment, {"apiVersion": "example.com/v9", "kind": "Widget", "metadata": {"name": "w"}}], "here")
    assert any("spec.replicas: 'two' is not of type" in p for p in problems)
    assert any("'requets' was unexpected" in p for p in problems)
    assert any("metadata.namespace must be left out" in p for p in problems)
    assert any("Widget/w: Couldn't find schema" in p for p in problems)


def test_images_are_collected_from_every_pod_template() -> None:
    documents = [
        {"kind": "Deployment", "spec": {"template": {"spec": {"containers": [{"image": "a"}], "initContainers": [{"image": "b"}]}}}},
        {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"image": "c"}]}}}}}},
        {"kind": "Service", "spec": {}},
    ]
    assert manifests.images_of(documents) == {"a", "b", "c"}


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        ({}, "BestEffort"),
        ({"requests": {"memory": "64Mi"}}, "Burstable"),
        ({"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}}, "Guaranteed"),
        ({"limits": {"cpu": "0.1", "memory": "64Mi"}}, "Guaranteed"),  # requests default to limits
        ({"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "64Mi"}}, "Burstable"),
        ({"requests": {"memory": "64Mi"}, "limits": {"memory": "64Mi"}}, "Burstable"),  # no cpu limit
    ],
)
def test_qos_class_follows_the_api_servers_rules(resources: dict, expected: str) -> None:
    assert objects.qos_class({"containers": [{"name": "c", "resources": resources}]}) == expected


def test_qos_of_a_pod_is_its_weakest_container() -> None:
    guaranteed = {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
    assert objects.qos_class({"containers": [{"resources": guaranteed}, {"resources": {}}]}) == "Burstable"


# -- kubelet settings ----------------------------------------------------------------------------


def test_the_eviction_threshold_makes_every_worker_a_node_of_its_budget() -> None:
    settings = kubelet.kubelet_settings(16 * 1024**3)
    assert settings["evictionHard"]["memory.available"] == f"{16 * 1024 - 1536}Mi"
    assert "nodeMemory" not in settings
    assert settings["evictionHard"]["nodefs.available"] == "0%"
    allocatable = 1536 - objects.parse_quantity(settings["systemReserved"]["memory"]) / 1024**2 - objects.parse_quantity(settings["kubeReserved"]["memory"]) / 1024**2
    assert allocatable == 1280


def test_a_host_too_small_for_the_worker_budget_is_refused() -> None:
    with pytest.raises(BreakfixError, match="workers need more than"):
        kubelet.kubelet_settings(1024**3)


def test_merging_keeps_kubeadms_settings_and_identity() -> None:
    current = {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration", "cgroupDriver": "systemd",
               "evictionHard": {"memory.available": "100Mi"}}
    merged = kubelet.merge_kubelet_config(current, {"apiVersion": "other", "kind": "Other", "evictionHard": {"memory.available": "9Gi"}})
    assert merged["apiVersion"] == "kubelet.config.k8s.io/v1beta1" and merged["kind"] == "KubeletConfiguration"
    assert merged["cgroupDriver"] == "systemd" and merged["evictionHard"] == {"memory.available": "9Gi"}


# -- readiness, evictions -----------------------------------------------------------------------


def test_pod_readiness_needs_running_ready_and_not_deleting() -> None:
    assert objects.pod_ready(pod("a"))
    assert not objects.pod_ready(pod("b", ready=False))
    assert not objects.pod_ready(pod("c", phase="Pending"))
    assert not objects.pod_ready(pod("d", deleting=True))
    assert not objects.pod_ready(client.V1Pod(metadata=client.V1ObjectMeta(name="e"), status=None))


def test_evictions_are_parsed_from_kubelet_events_oldest_first() -> None:
    memory = "The node was low on resource: memory. Threshold quantity: 14848Mi, available: 14000Mi. Container api was using 20Mi."
    events = [
        event("api-2", "Evicted", memory, NOW + dt.timedelta(seconds=10)),
        event("api-1", "Evicted", memory, NOW),
        event("api-1", "Killing", "Stopping container api", NOW),
        event("node-1", "Evicted", memory, NOW, kind_="Node"),
        event("batch-1", "Evicted", "The node was low on resource: ephemeral-storage.", None),
    ]
    found = objects.evictions(events)
    assert [(e.pod, e.resource) for e in found] == [("api-1", "memory"), ("api-2", "memory"), ("batch-1", "ephemeral-storage")]
    assert found[0].message == memory


def test_evicted_pods_are_the_failed_ones_with_reason_evicted() -> None:
    pods = [pod("a"), pod("b", phase="Failed", reason="Evicted"), pod("c", phase="Failed", reason="Error")]
    assert objects.evicted_pods(pods) == ["b"]


def deployment(replicas: int, *, generation: int = 2, observed: int = 2, updated: int, available: int, total: int) -> client.V1Deployment:
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name="d", generation=generation),
        spec=client.V1DeploymentSpec(replicas=replicas, selector=client.V1LabelSelector(), template=client.V1PodTemplateSpec()),
        status=client.V1DeploymentStatus(observed_generation=observed, updated_replicas=updated, available_replicas=available, replicas=total),
    )


def test_provision_waits_for_the_rollout_in_short_polls_with_a_line_per_change_of_what_it_awaits(monkeypatch: pytest.MonkeyPatch) -> None:
    listed = iter([deployment(2, updated=1, available=0, total=2)] * 3 + [deployment(2, updated=2, available=2, total=2)])

    class Apps:
        def list_namespaced_deployment(self, namespace: str) -> client.V1DeploymentList:
            return client.V1DeploymentList(items=[next(listed)])

        def list_namespaced_stateful_set(self, namespace: str) -> client.V1StatefulSetList:
            return client.V1StatefulSetList(items=[])

    kube = api.Kube("spot-interruption")
    kube.__dict__["apps"] = Apps()
    lines: list[str] = []
    pauses: list[float] = []
    monkeypatch.setattr(timing.time, "sleep", pauses.append)
    kube.wait_ready(10, lines.append)
    assert lines == ["waiting for deployment d"]
    assert pauses == [0.25] * 3


def never_pulled(name: str, image: str) -> client.V1Pod:
    waiting = client.V1ContainerStateWaiting(reason="ErrImageNeverPull", message=f'Container image "{image}" is not present with pull policy of Never')
    return client.V1Pod(metadata=client.V1ObjectMeta(name=name), status=client.V1PodStatus(
        phase="Pending", container_statuses=[client.V1ContainerStatus(
            name="app", image=image, image_id="", ready=False, restart_count=0, state=client.V1ContainerState(waiting=waiting))]))


def stuck_rollout(monkeypatch: pytest.MonkeyPatch, pods: Callable[[], client.V1PodList]) -> api.Kube:
    """A Kube whose one deployment never becomes available, its pods as `pods` lists them."""

    class Apps:
        def list_namespaced_deployment(self, namespace: str) -> client.V1DeploymentList:
            return client.V1DeploymentList(items=[deployment(2, updated=2, available=0, total=2)])

        def list_namespaced_stateful_set(self, namespace: str) -> client.V1StatefulSetList:
            return client.V1StatefulSetList(items=[])

    class Core:
        def list_namespaced_pod(self, namespace: str, label_selector: str = "") -> client.V1PodList:
            return pods()

    kube = api.Kube("spot-interruption")
    kube.__dict__["apps"], kube.__dict__["core"] = Apps(), Core()
    monkeypatch.setattr(timing.time, "sleep", lambda _: None)
    return kube


def test_a_rollout_that_never_comes_up_says_why_its_pods_are_stuck(monkeypatch: pytest.MonkeyPatch) -> None:
    unschedulable = client.V1Pod(metadata=client.V1ObjectMeta(name="checkout-2"), status=client.V1PodStatus(
        phase="Pending", conditions=[client.V1PodCondition(type="PodScheduled", status="False", reason="Unschedulable",
                                                           message="0/3 nodes are available: 3 node(s) had untolerated taint")]))
    creating = client.V1Pod(metadata=client.V1ObjectMeta(name="checkout-3"), status=client.V1PodStatus(
        phase="Pending", container_statuses=[client.V1ContainerStatus(
            name="app", image="x", image_id="", ready=False, restart_count=0,
            state=client.V1ContainerState(waiting=client.V1ContainerStateWaiting(reason="ContainerCreating")))]))
    kube = stuck_rollout(monkeypatch, lambda: client.V1PodList(
        items=[never_pulled("checkout-1", "breakfix/kind-workloads:1"), unschedulable, creating]))
    with pytest.raises(BreakfixError) as raised:
        kube.wait_ready(0.01)
    said = str(raised.value)
    assert "deployment d" in said
    assert 'checkout-1: ErrImageNeverPull (Container image "breakfix/kind-workloads:1" is not present' in said
    assert "checkout-2: Unschedulable (0/3 nodes are available" in said
    assert "checkout-3" not in said  # on its way up, not stuck


def test_a_rollout_that_never_comes_up_is_reported_even_when_its_pods_cannot_be_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable() -> client.V1PodList:
        raise ApiException(status=503, reason="Service Unavailable")

    with pytest.raises(BreakfixError, match="not ready after 0s: deployment d"):
        stuck_rollout(monkeypatch, unavailable).wait_ready(0.01)


def test_rollout_is_done_only_when_the_new_generation_is_all_available() -> None:
    assert objects.rolled_out(deployment(2, updated=2, available=2, total=2))
    assert not objects.rolled_out(deployment(2, observed=1, updated=2, available=2, total=2))  # controller has not seen the change
    assert not objects.rolled_out(deployment(2, updated=1, available=2, total=3))  # old pods still there
    assert not objects.rolled_out(deployment(2, updated=2, available=1, total=2))



def test_settle_waits_on_a_rollout_still_replacing_pods_not_on_one_stuck_or_merely_unavailable() -> None:
    assert objects.rollout_in_progress("deployment", deployment(2, updated=2, available=2, total=2)) is None
    assert "not observed" in str(objects.rollout_in_progress("deployment", deployment(2, observed=1, updated=2, available=2, total=2)))
    assert "2 pod(s) of the old revision" in str(objects.rollout_in_progress("deployment", deployment(2, updated=1, available=2, total=3)))
    assert objects.rollout_in_progress("deployment", deployment(2, updated=2, available=0, total=2)) is None  # settled, wrong: the checks judge it
    stuck = deployment(2, updated=1, available=1, total=3)
    stuck.status.conditions = [client.V1DeploymentCondition(type="Progressing", status="False", reason="ProgressDeadlineExceeded")]
    assert objects.rollout_in_progress("deployment", stuck) is None


def statefulset(replicas: int, *, updated: int, ready: int, partition: int | None = None, same_revision: bool = False) -> client.V1StatefulSet:
    strategy = client.V1StatefulSetUpdateStrategy(type="RollingUpdate", rolling_update=client.V1RollingUpdateStatefulSetStrategy(partition=partition))
    return client.V1StatefulSet(
        metadata=client.V1ObjectMeta(name="cache", generation=3),
        spec=client.V1StatefulSetSpec(replicas=replicas, selector=client.V1LabelSelector(), service_name="cache", template=client.V1PodTemplateSpec(),
                                      update_strategy=strategy),
        status=client.V1StatefulSetStatus(observed_generation=3, replicas=replicas, updated_replicas=updated, ready_replicas=ready,
                                          current_revision="cache-new" if same_revision else "cache-old", update_revision="cache-new"),
    )


def test_a_statefulset_rolls_member_by_member_down_to_its_partition() -> None:
    assert "1 of 3 member(s)" in str(objects.rollout_in_progress("statefulset", statefulset(3, updated=1, ready=3)))
    assert objects.rollout_in_progress("statefulset", statefulset(3, updated=1, ready=3, partition=2)) is None  # held there on purpose
    assert objects.rollout_in_progress("statefulset", statefulset(3, updated=3, ready=3, same_revision=True)) is None
    assert objects.statefulset_ready(statefulset(3, updated=3, ready=3, same_revision=True))
    assert not objects.statefulset_ready(statefulset(3, updated=3, ready=2, same_revision=True))
    assert not objects.statefulset_ready(statefulset(3, updated=1, ready=3))


def test_terminating_pods_are_the_ones_being_deleted() -> None:
    assert objects.terminating([pod("a"), pod("b", deleting=True)]) == ["b"]


# -- the namespace lifecycle, against a fake API ------------------------------------------------------


class FakeResource:
    def __init__(self, namespaced: bool, applied: list) -> None:
        self.namespaced = namespaced
        self.applied = applied

    def server_side_apply(self, **kwargs: Any) -> None:
        self.applied.append(kwargs)


class FakeDynamic:
    def __init__(self) -> None:
        self.applied: list[dict] = []
        self.resources = self

    def get(self, api_version: str, kind: str) -> FakeResource:
        return FakeResource(kind != "PriorityClass", self.applied)


def test_apply_labels_everything_with_the_instance_and_records_what_kubectl_apply_would() -> None:
    kube = api.Kube("pod-evictions")
    fake = FakeDynamic()
    kube.__dict__["dynamic"] = fake
    source = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api"}, "spec": {"replicas": 2}}
    kube.apply([source, {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "p"}, "value": 1}])
    deployment_call, priority_call = fake.applied
    assert deployment_call["namespace"] == "bf-pod-evictions" and priority_call["namespace"] is None
    assert deployment_call["field_manager"] == "breakfix" and deployment_call["force_conflicts"] is True
    metadata = deployment_call["body"]["metadata"]
    assert metadata["labels"] == {"breakfix.instance": "pod-evictions"}
    recorded = json.loads(metadata["annotations"][common.LAST_APPLIED])
    assert recorded["spec"] == {"replicas": 2} and recorded["metadata"]["namespace"] == "bf-pod-evictions"
    assert "metadata" in source and "labels" not in source["metadata"]  # the caller's document is untouched


class FakeCore:
    def __init__(self, gone_after: int | None) -> None:
        self.reads = 0
        self.gone_after = gone_after
        self.deleted: list[tuple[str, str]] = []

    def delete_namespace(self, name: str, propagation_policy: str) -> None:
        self.deleted.append((name, propagation_policy))

    def read_namespace(self, name: str) -> None:
        self.reads += 1
        if self.gone_after is not None and self.reads > self.gone_after:
            raise ApiException(status=404)


def test_namespace_deletion_waits_until_the_api_no_longer_knows_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("harness.timing.time.sleep", lambda _: None)
    kube = api.Kube("spot-interruption")
    kube.__dict__["core"] = core = FakeCore(gone_after=3)
    kube.delete_namespace(timeout=5)
    assert core.deleted == [("bf-spot-interruption", "Foreground")] and core.reads == 4


def test_a_namespace_stuck_terminating_fails_teardown_loudly() -> None:
    kube = api.Kube("spot-interruption")
    kube.__dict__["core"] = FakeCore(gone_after=None)
    with pytest.raises(BreakfixError, match="namespace bf-spot-interruption still terminating after 0s"):
        kube.delete_namespace(timeout=0)


class ServicesCore:
    def list_namespaced_service(self, namespace: str) -> client.V1ServiceList:
        def service(*node_ports: int | None) -> client.V1Service:
            return client.V1Service(spec=client.V1ServiceSpec(ports=[client.V1ServicePort(port=80, node_port=n) for n in node_ports]))
        return client.V1ServiceList(items=[service(30801, None), service(), client.V1Service(spec=client.V1ServiceSpec(ports=None))])


class ForgettingCluster(OfflineCluster):
    def __init__(self) -> None:
        super().__init__()
        self.forgotten: list[list[int]] = []

    def forget_unrouted_connections(self, node_ports: Any) -> None:
        self.forgotten.append(list(node_ports))


def test_before_grading_the_offline_cluster_forgets_connections_to_the_namespaces_node_ports_that_reached_no_pod() -> None:
    cluster = ForgettingCluster()
    runtime = kruntime.KubernetesRuntime("spot-interruption", Path("/nowhere"), provider=cluster)
    runtime.kube.__dict__["core"] = ServicesCore()
    assert isinstance(runtime, PreparesGrading)
    assert all("forgotten" not in condition.what for condition in runtime.settle())  # clearing is no wait
    runtime.before_grading()
    assert cluster.forgotten == [[30801]]
    # a provider that routes nothing on the host has nothing to forget, and a cluster that cannot be asked is no error
    assert not isinstance(KindCluster(), providers.RoutedByHost)
    kruntime.KubernetesRuntime("spot-interruption", Path("/nowhere"), provider=KindCluster()).before_grading()
    runtime.kube.__dict__["core"] = None
    runtime.before_grading()
    assert cluster.forgotten == [[30801]]


# -- faults ---------------------------------------------------------------------------------------------


class DrainCore:
    """Evictions refused (429, a PDB) `refuse` times, then accepted; an evicted pod is gone on the next list."""

    def __init__(self, refuse: int) -> None:
        self.refuse = refuse
        self.pods = {"web-1": pod("web-1")}
        self.cordoned: list[bool] = []

    def patch_node(self, name: str, body: dict) -> None:
        self.cordoned.append(body["spec"]["unschedulable"])

    def list_namespaced_pod(self, namespace: str, field_selector: str) -> client.V1PodList:
        assert field_selector == "spec.nodeName=spot-1"
        return client.V1PodList(items=list(self.pods.values()))

    def create_namespaced_pod_eviction(self, name: str, namespace: str, body: client.V1Eviction) -> None:
        if self.refuse:
            self.refuse -= 1
            raise ApiException(status=429)
        del self.pods[name]


def drain_kube(core: DrainCore) -> api.Kube:
    kube = api.Kube("spot-interruption")
    kube.__dict__["core"] = core
    return kube


def test_drain_cordons_then_retries_evictions_a_budget_refuses() -> None:
    core = DrainCore(refuse=2)
    result = drain_node(drain_kube(core), "spot-1", notice=5, interval=0)
    assert core.cordoned == [True]
    assert result.completed and result.refusals == 2 and result.evicted == ["web-1"]


def test_a_drain_a_budget_blocks_forever_stops_at_the_notice() -> None:
    result = drain_node(drain_kube(DrainCore(refuse=10**9)), "spot-1", notice=0.05, interval=0.01)
    assert not result.completed and result.refusals > 0 and result.evicted == []


class ServingCore(DrainCore):
    """An evicted pod that answers for `serves` seconds (but for one lost poll), then exits and is gone."""

    def __init__(self, serves: float) -> None:
        super().__init__(refuse=0)
        ports = [client.V1ContainerPort(name="metrics", container_port=9090), client.V1ContainerPort(name="http", container_port=8080)]
        self.pods["web-1"].spec = client.V1PodSpec(containers=[client.V1Container(name="web", ports=ports)])
        self.serves = serves
        self.evicted_at = 0.0
        self.asked: list[tuple[str, str]] = []

    def create_namespaced_pod_eviction(self, name: str, namespace: str, body: client.V1Eviction) -> None:
        self.evicted_at = time.monotonic()
        self.pods[name].metadata.deletion_timestamp = NOW  # terminating: still listed, still Running

    def list_namespaced_pod(self, namespace: str, field_selector: str) -> client.V1PodList:
        return client.V1PodList(items=[p for p in self.pods.values() if not self._exited()])

    def _exited(self) -> bool:
        return bool(self.evicted_at) and time.monotonic() - self.evicted_at > self.serves

    def connect_get_namespaced_pod_proxy_with_path(self, name: str, namespace: str, path: str, _request_timeout: float) -> str:
        self.asked.append((name, path))
        if self._exited() or len(self.asked) == 3:  # the third poll is lost on the way: the pod still serves
            raise ApiException(status=503)
        return "{}"

    def read_namespaced_pod(self, name: str, namespace: str) -> client.V1Pod:
        if self._exited():
            raise ApiException(status=404)
        return self.pods[name]


@pytest.mark.parametrize("serves", [0.0, 0.4])
def test_a_drain_times_how_long_each_evicted_pod_goes_on_answering_asking_the_pod_itself(monkeypatch: pytest.MonkeyPatch, serves: float) -> None:
    monkeypatch.setattr("harness.faults.kubernetes.SERVING_POLL_SECONDS", 0.02)
    core = ServingCore(serves)
    result = drain_node(drain_kube(core), "spot-1", notice=5, interval=0.01, serving_path="/orders/1")
    assert result.completed and result.evicted == ["web-1"]
    assert serves - 0.1 <= result.served["web-1"] <= serves
    assert set(core.asked) == {("web-1:8080", "orders/1")}
    without = drain_node(drain_kube(ServingCore(serves)), "spot-1", notice=5, interval=0.01)
    assert without.served == {}


def test_manifest_drift_params_are_checked_when_the_scenario_loads() -> None:
    with pytest.raises(BreakfixError, match="must be a relative path to a .yaml file"):
        build(FaultSpec(kind="kube-manifest-drift", params={"replace": {"stack/manifests/a.yaml": "../../etc/passwd"}}), 0)
    with pytest.raises(BreakfixError, match="name at least one manifest"):
        build(FaultSpec(kind="kube-manifest-drift", params={"replace": {}}), 0)


def test_manifest_drift_rewrites_the_workspace_applies_it_and_reverts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entry, workspace = tmp_path / "entry", tmp_path / "workspace"
    for root in (entry, workspace):
        (root / "stack" / "manifests").mkdir(parents=True)
        (root / "stack" / "manifests" / "10-api.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: api}\ndata: {state: healthy}\n")
        (root / "stack" / "manifests" / "20-pdb.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: pdb}\n")
    (entry / "broken").mkdir()
    (entry / "broken" / "10-api.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: api}\ndata: {state: broken}\n")

    applied: list[list[dict]] = []
    deleted: list[str] = []

    class FakeKube:
        def apply(self, documents: list[dict]) -> None:
            applied.append(documents)

        def namespace_exists(self) -> bool:
            return True

    monkeypatch.setattr(ManifestDrift, "_kube", lambda self, ctx: FakeKube())
    monkeypatch.setattr("harness.faults.kubernetes.delete_objects", lambda kube, documents: deleted.extend(d["metadata"]["name"] for d in documents))
    fault = build(FaultSpec(kind="kube-manifest-drift", params={"replace": {
        "stack/manifests/10-api.yaml": "broken/10-api.yaml", "stack/manifests/20-pdb.yaml": None}}), 0)
    ctx = FaultContext("x", entry, tmp_path / "faults", workspace)

    fault.inject(ctx)
    assert "broken" in (workspace / "stack/manifests/10-api.yaml").read_text()
    assert not (workspace / "stack/manifests/20-pdb.yaml").exists() and deleted == ["pdb"]
    assert [d["data"]["state"] for d in applied[-1]] == ["broken"]

    fault.inject(ctx)  # idempotent: a second inject changes nothing more
    assert deleted == ["pdb"]

    fault.revert(ctx)
    assert "healthy" in (workspace / "stack/manifests/10-api.yaml").read_text() and (workspace / "stack/manifests/20-pdb.yaml").exists()
    assert [d["metadata"]["name"] for d in applied[-1]] == ["api", "pdb"]
    fault.revert(ctx)  # idempotent


# -- the workloads image's memory sizing ---------------------------------------------------------------


def load_workload() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("bf_workload", common.infra_dir() / "workloads" / "workload.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"/sys/fs/cgroup/memory.max": "201326592\n"}, 192 * 1024**2),  # cgroup v2, bounded
        ({"/sys/fs/cgroup/memory.max": "max\n"}, None),  # cgroup v2, no limit
        ({"/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n"}, None),  # cgroup v1, no limit
        ({"/sys/fs/cgroup/memory/memory.limit_in_bytes": "268435456\n"}, 256 * 1024**2),  # cgroup v1, bounded
        ({}, None),
    ],
)
def test_the_batch_reads_its_limit_from_either_cgroup_version(files: dict[str, str], expected: int | None, monkeypatch: pytest.MonkeyPatch) -> None:
    workload = load_workload()

    class FakePath:
        def __init__(self, path: str) -> None:
            self.path = path

        def read_text(self) -> str:
            if self.path not in files:
                raise OSError(self.path)
            return files[self.path]

    monkeypatch.setattr(workload, "Path", FakePath)
    assert workload.cgroup_limit() == expected


def test_provisioning_uncordons_workers_a_killed_drain_left_cordoned() -> None:
    patched: list[tuple[str, dict]] = []

    class Core:
        def list_node(self, label_selector: str) -> client.V1NodeList:
            assert label_selector == common.POOL_LABEL
            nodes = [("breakfix-worker", False), ("breakfix-worker2", True)]
            return client.V1NodeList(items=[client.V1Node(metadata=client.V1ObjectMeta(name=name), spec=client.V1NodeSpec(unschedulable=flag))
                                            for name, flag in nodes])

        def patch_node(self, name: str, body: dict) -> None:
            patched.append((name, body))

    kube = api.Kube("spot-interruption")
    kube.__dict__["core"] = Core()
    kube.uncordon_workers()
    assert patched == [("breakfix-worker2", {"spec": {"unschedulable": False}})]


def test_teardown_survives_a_workspace_the_learner_broke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "10-api.yaml").write_text("kind: [unclosed\n")
    calls: list[str] = []

    class Cluster:
        def running(self) -> bool:
            return True

        def export_kubeconfig(self, target: Path) -> None:
            calls.append("kubeconfig")

    runtime = kruntime.KubernetesRuntime("pod-evictions", tmp_path, provider=Cluster())  # type: ignore[arg-type]
    monkeypatch.setattr(runtime.kube, "delete_namespace", lambda: calls.append("namespace"))
    monkeypatch.setattr(runtime.kube, "delete_cluster_scoped", lambda: calls.append("cluster-scoped"))
    monkeypatch.setattr(runtime.kube, "cluster_scoped_leftovers", lambda: ["priorityclass orders-api-critical"])
    with pytest.raises(BreakfixError, match="teardown left objects behind: priorityclass orders-api-critical"):
        runtime.teardown()
    assert calls == ["kubeconfig", "namespace", "cluster-scoped"]
