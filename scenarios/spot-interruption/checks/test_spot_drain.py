"""A spot interruption: the node is drained with 2 minutes' notice while clients keep calling."""


def test_no_failed_requests_through_a_spot_drain(spot_drain):
    """a client calling checkout through the Service sees zero failed requests while the spot node is drained"""
    assert not spot_drain.precondition, spot_drain.precondition
    drain, load = spot_drain.drain, spot_drain.load
    assert drain is not None and load is not None, "the drain or the client probe did not run"
    assert drain.completed, (
        f"the drain of {drain.node} did not finish within the 2-minute notice ({drain.refusals} eviction(s) refused by a "
        "PodDisruptionBudget): the node is terminated anyway, taking its pods down hard"
    )
    failed = load.server_errors()
    assert load.responses, "the client probe got no response at all"
    assert not failed, (
        f"{len(failed)} of {len(load.responses)} requests failed while {drain.node} was drained "
        f"(evicted: {', '.join(drain.evicted) or 'none'}; first failure: {failed[0].error or failed[0].status}; failures sent "
        f"{min(r.sent_at for r in failed) - spot_drain.notice_at:+.1f} s to {max(r.sent_at for r in failed) - spot_drain.notice_at:+.1f} s "
        f"from the notice, the drain took {drain.seconds:.1f} s); responses: {load.histogram()}"
    )


def test_budget_respected_during_the_drain(spot_drain, checkout):
    """checkout never dropped below its PodDisruptionBudget during the drain"""
    assert not spot_drain.precondition, spot_drain.precondition
    budgets = checkout.budgets()
    assert budgets, "no PodDisruptionBudget selects the checkout pods"
    floor = max(pdb.status.desired_healthy or 0 for pdb in budgets)
    assert spot_drain.min_ready >= max(floor, 1), (
        f"during the drain checkout fell to {spot_drain.min_ready} Ready pod(s), below its budget of {floor}"
    )
