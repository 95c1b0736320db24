"""Under a report run's memory pressure the kubelet must not pick the critical API."""


def test_critical_api_survives_a_report_run(report_run):
    """orders-api stays Ready, with no pod evicted, while the report builders run"""
    assert not report_run.precondition, report_run.precondition
    api_evictions = [e for e in report_run.evictions if e.pod.startswith("orders-api-")]
    if api_evictions:
        first = api_evictions[0]
        raise AssertionError(f"the kubelet evicted {len(api_evictions)} orders-api pod(s) during a report run, e.g. {first.pod}: "
                             f"{first.message!r} -- which pods does it pick first when memory runs low, and why these?")
    assert not report_run.api_lost, (
        f"orders-api lost pods during a report run: {', '.join(report_run.api_lost)} -- see `kubectl get events` in the namespace"
    )
    assert report_run.batch_started, "the report builders never started running during the check, so nothing was proven: are they schedulable?"
