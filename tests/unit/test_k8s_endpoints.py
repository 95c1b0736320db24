"""Where kube-proxy is to send a Service's traffic, and whether the EndpointSlice controller has caught up
with the pods: what settle waits on before a Kubernetes check probes a NodePort."""

from __future__ import annotations

from kubernetes import client

from harness.runtime.kubernetes import objects
from harness.runtime.kubernetes.api import Kube

NAMESPACE = "bf-spot"


def service(name: str = "checkout", *, ports: tuple[tuple[str | None, int | str], ...] = (("http", "http"),),
            cluster_ip: str = "10.96.0.10", selector: dict[str, str] | None = None, kind: str = "NodePort") -> client.V1Service:
    return client.V1Service(
        metadata=client.V1ObjectMeta(name=name, namespace=NAMESPACE),
        spec=client.V1ServiceSpec(type=kind, cluster_ip=cluster_ip, selector=selector if selector is not None else {"app": name},
                                  ports=[client.V1ServicePort(name=port_name, port=80, target_port=target) for port_name, target in ports]))


def endpoint(address: str, ready: bool | None = True, *, serving: bool | None = None, terminating: bool | None = None) -> client.V1Endpoint:
    return client.V1Endpoint(addresses=[address], conditions=client.V1EndpointConditions(ready=ready, serving=serving, terminating=terminating))


def endpoint_slice(endpoints: list[client.V1Endpoint], owner: str = "checkout", port_name: str | None = "http", port: int = 8080) -> client.V1EndpointSlice:
    return client.V1EndpointSlice(
        address_type="IPv4", endpoints=endpoints, ports=[client.DiscoveryV1EndpointPort(name=port_name, port=port)],
        metadata=client.V1ObjectMeta(name=f"{owner}-abc", namespace=NAMESPACE, labels={objects.SERVICE_NAME_LABEL: owner}))


def pod(ip: str | None, *, ready: bool = True, app: str = "checkout", port_name: str = "http", deleting: bool = False,
        phase: str = "Running") -> client.V1Pod:
    container = client.V1Container(name="app", ports=[client.V1ContainerPort(name=port_name, container_port=8080)])
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=f"pod-{ip}", labels={"app": app}, deletion_timestamp="2026-12-07T00:00:00Z" if deleting else None),
        spec=client.V1PodSpec(containers=[container]),
        status=client.V1PodStatus(phase=phase, pod_ip=ip, conditions=[client.V1PodCondition(type="Ready", status=str(ready))]))


def test_kube_proxy_sends_to_the_ready_endpoints_of_every_slice_and_an_unset_condition_counts_as_ready() -> None:
    slices = [endpoint_slice([endpoint("10.244.1.5"), endpoint("10.244.2.7", ready=None), endpoint("10.244.2.8", ready=False)]),
              endpoint_slice([endpoint("10.244.1.9")])]
    assert objects.proxied_endpoints([service()], slices) == {f"{NAMESPACE}/checkout:http": {"10.244.1.5:8080", "10.244.2.7:8080", "10.244.1.9:8080"}}


def test_while_no_endpoint_is_ready_kube_proxy_falls_back_to_the_serving_terminating_ones() -> None:
    slices = [endpoint_slice([endpoint("10.244.1.5", ready=False, serving=True, terminating=True),
                              endpoint("10.244.1.6", ready=False, serving=False, terminating=True),
                              endpoint("10.244.1.7", ready=False)])]
    assert objects.proxied_endpoints([service()], slices) == {f"{NAMESPACE}/checkout:http": {"10.244.1.5:8080"}}
    slices[0].endpoints.append(endpoint("10.244.2.1"))
    assert objects.proxied_endpoints([service()], slices) == {f"{NAMESPACE}/checkout:http": {"10.244.2.1:8080"}}


def test_each_port_is_keyed_as_kube_proxy_names_it_and_a_service_with_no_endpoints_has_an_empty_set() -> None:
    unnamed = service("plain", ports=((None, 8080),))
    slices = [endpoint_slice([endpoint("10.244.1.5")], owner="plain", port_name=None), endpoint_slice([endpoint("10.244.1.6")], port_name="other")]
    assert objects.proxied_endpoints([unnamed, service()], slices) == {f"{NAMESPACE}/plain": {"10.244.1.5:8080"}, f"{NAMESPACE}/checkout:http": set()}


def test_headless_and_external_name_services_have_no_proxy_rules() -> None:
    slices = [endpoint_slice([endpoint("10.244.1.5")])]
    assert objects.proxied_endpoints([service(cluster_ip="None"), service(kind="ExternalName", cluster_ip="")], slices) == {}


def test_a_service_is_published_when_its_slices_list_exactly_its_ready_pods_as_ready() -> None:
    pods = [pod("10.244.1.5"), pod("10.244.1.6", ready=False), pod("10.244.1.7", deleting=True), pod(None), pod("10.244.3.3", app="other")]
    caught_up = [endpoint_slice([endpoint("10.244.1.5"), endpoint("10.244.1.6", ready=False), endpoint("10.244.1.7", ready=False)])]
    assert objects.unpublished([service()], pods, caught_up) == []


def test_a_service_is_behind_while_a_ready_pod_is_missing_or_a_gone_one_is_still_listed() -> None:
    assert objects.unpublished([service()], [pod("10.244.1.5")], []) == ["service checkout: endpoints none, ready pods ['10.244.1.5']"]
    assert objects.unpublished([service()], [pod("10.244.1.5")], [endpoint_slice([endpoint("10.244.1.5"), endpoint("10.244.1.4")])]) == [
        "service checkout: endpoints ['10.244.1.4', '10.244.1.5'], ready pods ['10.244.1.5']"]
    assert objects.unpublished([service()], [pod("10.244.1.5", ready=False)], [endpoint_slice([endpoint("10.244.1.5")])]) != []


def test_pods_the_controller_never_publishes_and_services_without_a_selector_are_not_waited_for() -> None:
    no_such_port = [pod("10.244.1.5", port_name="metrics")]  # a named targetPort the pod does not declare
    assert objects.unpublished([service()], no_such_port, []) == []
    assert objects.unpublished([service(selector={}), service(kind="ExternalName")], [pod("10.244.1.5")], []) == []
    published_anyway = service()
    published_anyway.spec.publish_not_ready_addresses = True
    evicted = pod("10.244.1.5", ready=False, phase="Failed")
    assert objects.unpublished([published_anyway], [evicted, pod("10.244.1.6", ready=False)], [endpoint_slice([endpoint("10.244.1.6")])]) == []


class Listed:
    def __init__(self, items: list[object]) -> None:
        self.items = items


class Cluster:
    """The API calls one settle poll makes, counted: a settled namespace whose Service is published."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.api_service = client.V1Service(
            metadata=client.V1ObjectMeta(name="kubernetes", namespace="default"),
            spec=client.V1ServiceSpec(type="ClusterIP", cluster_ip="10.96.0.1", ports=[client.V1ServicePort(name="https", port=443, target_port=6443)]))

    def __getattr__(self, name: str) -> object:
        if name.startswith("list_namespaced_") and name not in {"list_namespaced_pod", "list_namespaced_service", "list_namespaced_endpoint_slice"}:
            return lambda namespace: self.calls.append(f"{name} {namespace}") or Listed([])  # no workload: no rollout
        raise AttributeError(name)

    def list_namespaced_pod(self, namespace: str, label_selector: str = "") -> Listed:
        self.calls.append(f"pods {namespace}")
        return Listed([pod("10.244.1.5")])

    def list_namespaced_service(self, namespace: str) -> Listed:
        self.calls.append(f"services {namespace}")
        return Listed([service()])

    def read_namespaced_service(self, name: str, namespace: str) -> client.V1Service:
        self.calls.append(f"service {namespace}/{name}")
        return self.api_service

    def list_namespaced_endpoint_slice(self, namespace: str, label_selector: str = "") -> Listed:
        self.calls.append(f"slices {namespace} {label_selector}".rstrip())
        if namespace == "default":
            api_slice = endpoint_slice([endpoint("10.250.0.10")], owner="kubernetes", port_name="https", port=6443)
            api_slice.metadata.namespace = "default"
            return Listed([api_slice])
        return Listed([endpoint_slice([endpoint("10.244.1.5")])])


def kube_on(cluster: Cluster) -> Kube:
    kube = Kube("spot-interruption")
    kube.namespace = NAMESPACE
    kube.__dict__.update(core=cluster, apps=cluster, discovery=cluster)
    return kube


def test_a_settle_poll_lists_the_namespace_once_and_reads_only_the_api_servers_service_of_default() -> None:
    cluster = Cluster()
    asked: list[tuple[str, dict[str, set[str]], set[str]]] = []
    assert kube_on(cluster).still_changing(lambda *lag: asked.append(lag) or "kube-proxy behind") == "kube-proxy behind"
    assert asked == [(NAMESPACE, {f"{NAMESPACE}/checkout:http": {"10.244.1.5:8080"}}, {"10.250.0.10:6443"})]
    assert sorted(call for call in cluster.calls if not call.startswith("list_namespaced_")) == [
        f"pods {NAMESPACE}", "service default/kubernetes", f"services {NAMESPACE}", f"slices {NAMESPACE}",
        f"slices default {objects.SERVICE_NAME_LABEL}=kubernetes"]


def test_without_a_route_check_a_published_namespace_is_settled_and_default_is_never_asked() -> None:
    cluster = Cluster()
    assert kube_on(cluster).still_changing() is None
    assert not any("default" in call for call in cluster.calls)
