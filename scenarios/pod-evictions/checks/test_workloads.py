"""The fix protects the API without taking anything away from the batch or the cache."""

from harness.checks import parse_quantity, qos_class


def _priority(kube, pod_spec) -> int:
    name = pod_spec.priority_class_name
    return kube.scheduling.read_priority_class(name).value if name else 0


def test_critical_api_is_guaranteed_and_outranks_the_rest(kube, workloads):
    """orders-api pods are QoS Guaranteed and have a higher priority than the batch and the cache"""
    api = kube.apps.read_namespaced_deployment("orders-api", kube.namespace)
    template = kube.api_client.sanitize_for_serialization(api.spec.template.spec)
    assert qos_class(template) == "Guaranteed", (
        f"orders-api's pod template is QoS {qos_class(template)}: under memory pressure the kubelet evicts pods that use "
        "more than they request first -- what must requests and limits look like for the class that is evicted last?"
    )
    not_guaranteed = [p.metadata.name for p in workloads.current(workloads.api) if p.status.qos_class != "Guaranteed"]
    assert not not_guaranteed, f"orders-api pods still running as another QoS class: {', '.join(not_guaranteed)} (has the rollout finished?)"
    mine = _priority(kube, api.spec.template.spec)
    for name in ("report-builder", "price-cache"):
        other = kube.apps.read_namespaced_deployment(name, kube.namespace)
        theirs = _priority(kube, other.spec.template.spec)
        assert mine > theirs, f"orders-api has priority {mine}, {name} has {theirs}: which one should the kubelet and the scheduler keep?"


def test_report_builders_still_run(kube, workloads):
    """report-builder keeps both of its workers running"""
    deployment = kube.apps.read_namespaced_deployment("report-builder", kube.namespace)
    assert (deployment.spec.replicas or 0) >= 2, f"report-builder is scaled to {deployment.spec.replicas}: the nightly reports need both workers"
    assert workloads.wait_ready(workloads.batch, 2, 60), f"report-builder does not have 2 running workers: {workloads.describe(workloads.batch)}"
    restarting = [p.metadata.name for p in workloads.ready(workloads.batch) if any((c.restart_count or 0) > 2 for c in p.status.container_statuses or [])]
    assert not restarting, f"report-builder workers keep restarting (OOMKilled?): {', '.join(restarting)} -- is their limit enough for them to work?"


def test_report_builder_memory_is_bounded(kube):
    """every report-builder container has a memory request and limit"""
    deployment = kube.apps.read_namespaced_deployment("report-builder", kube.namespace)
    for container in deployment.spec.template.spec.containers:
        resources = container.resources
        limit = (resources.limits or {}).get("memory") if resources else None
        request = (resources.requests or {}).get("memory") if resources else None
        assert limit, f"container {container.name} of report-builder has no memory limit: it takes whatever the node has"
        assert request and parse_quantity(request) >= 128 * 1024**2, (
            f"container {container.name} of report-builder requests {request or 'no'} memory: the scheduler must reserve what it uses"
        )


def test_price_cache_is_still_loaded(workloads, pod_host):
    """price-cache is running with its whole price list (192 MiB) in memory"""
    assert workloads.wait_ready(workloads.cache, 1, 60), f"price-cache has no ready pod: {workloads.describe(workloads.cache)} -- removing the cache is not a fix"
    pod = workloads.ready(workloads.cache)[0]
    loaded = pod_host(pod.metadata.name).file("/tmp/ready").content_string.strip()
    assert loaded.isdigit() and int(loaded) >= 192, f"price-cache holds {loaded or 'nothing'} MiB of the 192 MiB price list: shrinking the cache is not a fix"
