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
    """checkout pods keep serving until the endpoint removal has reached every node (preStop), within their grace period"""
    spec = checkout.deployment().spec.template.spec
    grace = spec.termination_grace_period_seconds if spec.termination_grace_period_seconds is not None else 30
    for container in spec.containers:
        pre_stop = container.lifecycle and container.lifecycle.pre_stop
        assert pre_stop, (
            f"container {container.name} stops accepting connections the moment it gets SIGTERM, while kube-proxy on "
            "other nodes still sends it traffic: what runs before SIGTERM?"
        )
        command = (pre_stop._exec.command if pre_stop._exec else []) or []
        wait = next((float(part) for part in command if part.replace(".", "", 1).isdigit()), None)
        if pre_stop.sleep:
            wait = float(pre_stop.sleep.seconds)
        assert wait is None or wait < grace, f"the preStop wait ({wait:.0f}s) does not fit in terminationGracePeriodSeconds ({grace}s)"
