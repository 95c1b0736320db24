"""Before any interruption: enough replicas, spread over nodes, a budget, time to drain."""


def test_replicas_spread_across_nodes(checkout):
    """checkout runs at least 2 Ready replicas, on at least 2 different nodes"""
    pods = checkout.ready_pods()
    assert len(pods) >= 2, f"checkout has {len(pods)} Ready pod(s): one interruption takes the whole service down"
    nodes = {pod.spec.node_name for pod in pods}
    assert len(nodes) >= 2, (
        f"every Ready checkout pod runs on {', '.join(sorted(nodes))}: one node going away takes them all "
        "-- how can the scheduler be told to spread them (and keep doing so through a rollout)?"
    )


def test_checkout_keeps_using_the_spot_pool(checkout):
    """at least one Ready checkout pod runs on the spot pool: the interruption is survived, not avoided"""
    pods = checkout.ready_pods()
    spot = set(checkout.spot_nodes())
    on_spot = [pod.metadata.name for pod in pods if pod.spec.node_name in spot]
    assert on_spot, (
        f"no Ready checkout pod runs on the spot pool ({', '.join(sorted(spot))}): every replica on on-demand capacity "
        "gives up the savings FINOPS-88 was for -- the spot node may be used, it just must not be the only one"
    )


def test_disruption_budget_protects_checkout(checkout):
    """a PodDisruptionBudget keeps checkout serving during a drain, without blocking the drain"""
    budgets = checkout.budgets()
    assert budgets, "no PodDisruptionBudget selects the checkout pods: a drain may evict all of them at once"
    for pdb in budgets:
        status = pdb.status
        assert status is not None and (status.expected_pods or 0) > 0, f"PodDisruptionBudget {pdb.metadata.name} matches no pod yet"
        assert (status.desired_healthy or 0) >= 1, f"PodDisruptionBudget {pdb.metadata.name} lets every checkout pod go at once"
        assert (status.disruptions_allowed or 0) >= 1, (
            f"PodDisruptionBudget {pdb.metadata.name} allows 0 disruptions with every pod healthy: a node drain could never finish "
            "within a 2-minute spot notice, and the node dies anyway"
        )


def test_pods_get_time_to_drain(checkout):
    """checkout pods keep serving until the endpoint removal has reached every node -- a preStop wait, or the app's
    own drain after SIGTERM (DRAIN_SECONDS: it keeps answering while /healthz says draining) -- within their grace period"""
    spec = checkout.deployment().spec.template.spec
    grace = spec.termination_grace_period_seconds if spec.termination_grace_period_seconds is not None else 30
    for container in spec.containers:
        pre_stop = container.lifecycle and container.lifecycle.pre_stop
        drain = app_drain_seconds(container)
        assert pre_stop or drain > 0, (
            f"container {container.name} stops accepting connections the moment it gets SIGTERM, while kube-proxy on "
            "other nodes still sends it traffic: what keeps it serving until they have heard?"
        )
        wait = pre_stop_seconds(pre_stop) if pre_stop else 0.0
        assert wait is None or wait + drain < grace, (
            f"the preStop wait ({wait:.0f}s) and the app's drain ({drain:.0f}s) do not fit in terminationGracePeriodSeconds "
            f"({grace}s): the kubelet kills the pod while it still serves"
        )


def pre_stop_seconds(pre_stop) -> float | None:
    """How long a preStop hook waits: the sleep action's seconds, or the first number of its command (None: not a wait
    we can read, such as a script)."""
    if pre_stop.sleep:
        return float(pre_stop.sleep.seconds)
    command = (pre_stop._exec.command if pre_stop._exec else []) or []
    return next((float(part) for part in command if part.replace(".", "", 1).isdigit()), None)


def app_drain_seconds(container) -> float:
    """The checkout app's own drain: after SIGTERM it answers for DRAIN_SECONDS before it stops accepting."""
    value = next((variable.value for variable in container.env or [] if variable.name == "DRAIN_SECONDS"), None)
    try:
        return max(float(value or 0), 0.0)
    except ValueError:
        return 0.0
