"""spot-interruption's drain-time rule on deployment specs: a preStop wait and the app's own drain
(DRAIN_SECONDS) are two ways of serving until kube-proxy has heard; neither, or one that outlasts the
grace period, fails."""

from __future__ import annotations

from types import ModuleType, SimpleNamespace

import pytest
from kubernetes import client

from tests import content_modules


def load_checks(module: str = "test_placement") -> ModuleType:
    return content_modules.load(f"scenarios/spot-interruption/checks/{module}.py")


def checkout_with(*, pre_stop: client.V1LifecycleHandler | None = None, drain: str | None = None, grace: int | None = 30) -> SimpleNamespace:
    container = client.V1Container(
        name="checkout", image="breakfix/kind-workloads:1",
        lifecycle=client.V1Lifecycle(pre_stop=pre_stop) if pre_stop else None,
        env=[client.V1EnvVar(name="DRAIN_SECONDS", value=drain)] if drain is not None else None,
    )
    spec = client.V1PodSpec(containers=[container], termination_grace_period_seconds=grace)
    deployment = client.V1Deployment(spec=client.V1DeploymentSpec(
        selector=client.V1LabelSelector(), template=client.V1PodTemplateSpec(spec=spec)))
    return SimpleNamespace(deployment=lambda: deployment)


def sleep_command(seconds: str) -> client.V1LifecycleHandler:
    return client.V1LifecycleHandler(_exec=client.V1ExecAction(command=["sleep", seconds]))


def sleep_action(seconds: int) -> client.V1LifecycleHandler:
    return client.V1LifecycleHandler(sleep=client.V1SleepAction(seconds=seconds))


@pytest.mark.parametrize("checkout", [
    checkout_with(pre_stop=sleep_command("10"), drain="5"),  # the reference
    checkout_with(pre_stop=sleep_action(12), grace=40),  # the native sleep action, the app stops at once
    checkout_with(drain="15"),  # no hook: the app keeps answering for 15 s after SIGTERM
    checkout_with(pre_stop=client.V1LifecycleHandler(_exec=client.V1ExecAction(command=["/bin/sh", "-c", "/drain.sh"]))),
], ids=["reference", "sleep-action", "app-drain", "unreadable-hook"])
def test_either_a_pre_stop_wait_or_the_apps_drain_gives_time(checkout: SimpleNamespace) -> None:
    load_checks().test_pods_get_time_to_drain(checkout)


@pytest.mark.parametrize(("checkout", "message"), [
    (checkout_with(), "stops accepting connections the moment it gets SIGTERM"),
    (checkout_with(drain="0"), "stops accepting connections the moment it gets SIGTERM"),
    (checkout_with(drain="soon"), "stops accepting connections the moment it gets SIGTERM"),
    (checkout_with(pre_stop=sleep_command("20"), drain="15"), r"preStop wait \(20s\) and the app's drain \(15s\) do not fit"),
    (checkout_with(drain="45", grace=None), r"do not fit in terminationGracePeriodSeconds \(30s\)"),
], ids=["neither", "zero-drain", "not-a-number", "hook-and-drain-too-long", "drain-past-the-default-grace"])
def test_no_time_to_drain_or_more_than_the_grace_period_fails(checkout: SimpleNamespace, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        load_checks().test_pods_get_time_to_drain(checkout)


def drained(served: dict[str, float], *, unmeasurable: str = "") -> SimpleNamespace:
    drain = SimpleNamespace(evicted=list(served), served=served)
    return SimpleNamespace(precondition="", unmeasurable=unmeasurable, drain=drain)


@pytest.mark.parametrize("served", [{"checkout-a": 15.0}, {"checkout-a": 4.8, "checkout-b": 9.0}, {}],
                         ids=["reference", "five-seconds-seen-a-poll-late", "nothing-evicted"])
def test_evicted_pods_that_answer_for_five_seconds_pass(served: dict[str, float]) -> None:
    load_checks("test_spot_drain").test_evicted_pods_keep_serving_while_their_removal_spreads(drained(served))


@pytest.mark.parametrize(("spot_drain", "message"), [
    (drained({"checkout-a": 0.1, "checkout-b": 15.0}), r"checkout-a stopped answering 0.1 s after its eviction \(wanted 5 s\)"),
    (drained({"checkout-a": 1.2}), "checkout-a stopped answering 1.2 s"),
    (drained({"checkout-a": 15.0}, unmeasurable="do not answer /orders/1"), "do not answer /orders/1"),
], ids=["hook-that-returns-at-once", "sleep-1", "proxy-silent"])
def test_a_pod_that_stops_answering_sooner_or_cannot_be_timed_fails(spot_drain: SimpleNamespace, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        load_checks("test_spot_drain").test_evicted_pods_keep_serving_while_their_removal_spreads(spot_drain)
