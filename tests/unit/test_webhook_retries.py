"""webhook-delivery's retry rules on synthetic runs: retries of failures that happened together keep their
order under a fixed schedule however a queue delays them, and lose it under jitter; the waits judged for
backing off leave out the waits spent behind a backlog of first attempts."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from tests import content_modules
from tests.unit.test_webhook_isolation import Sent, load_checks


@dataclass
class GlobexRun:
    logs: dict[str, list[dict]] = field(default_factory=dict)
    killed_at: float = 1000.0
    events: list[Sent] = field(default_factory=list)

    def back_at(self) -> float:
        return self.killed_at + 0.5

    def expected(self, endpoint: str) -> list[Sent]:
        assert endpoint == "globex"
        return self.events


def globex_log(retry_at: dict[str, float], failed_at: dict[str, float]) -> list[dict]:
    entries = [{"t": failed_at[event], "event": event, "status": 503} for event in failed_at]
    entries += [{"t": retry_at[event], "event": event, "status": 200} for event in retry_at]
    return sorted(entries, key=lambda entry: entry["t"])


def payout_failures(count: int = 60, every: float = 0.03) -> dict[str, float]:
    return {f"evt-{n}": n * every for n in range(count)}


def test_a_fixed_schedule_keeps_its_order_however_a_queue_delays_it() -> None:
    checks = load_checks()
    failed = payout_failures()
    # a saturated worker pool: each retry waits its second plus a queue that grows with its place in it
    retried = {event: moment + 1.0 + 0.02 * n for n, (event, moment) in enumerate(failed.items())}
    reordered, pairs = checks.reordered_together(GlobexRun({"globex": globex_log(retried, failed)}))
    assert pairs >= checks.MIN_TOGETHER_PAIRS
    assert reordered == 0


def test_jittered_retries_of_failures_that_happened_together_come_either_way_round() -> None:
    checks = load_checks()
    failed = payout_failures()
    jitter = random.Random(7)
    retried = {event: moment + jitter.uniform(0.5, 1.5) for event, moment in failed.items()}
    reordered, pairs = checks.reordered_together(GlobexRun({"globex": globex_log(retried, failed)}))
    assert pairs >= checks.MIN_TOGETHER_PAIRS
    assert reordered >= checks.MIN_REORDERED * pairs


def test_failures_closer_than_a_worker_interleaving_and_waits_across_the_kill_are_not_judged() -> None:
    checks = load_checks()
    simultaneous = {f"evt-{n}": 0.0003 * n for n in range(60)}  # 18 ms from first to last
    retried = {event: 2.0 - moment for event, moment in simultaneous.items()}
    assert checks.reordered_together(GlobexRun({"globex": globex_log(retried, simultaneous)})) == (0, 0)
    failed = payout_failures()
    across_the_kill = {event: 5.0 - moment for event, moment in failed.items()}
    run = GlobexRun({"globex": globex_log(across_the_kill, failed)}, killed_at=2.5)
    assert checks.reordered_together(run) == (0, 0)


def test_waits_that_overlap_a_backlog_of_first_attempts_are_not_judged() -> None:
    checks = load_checks()
    # two events published at 1.0 wait for their first attempt until 1.6 and 2.4 (a dispatcher down, then
    # catching up): globex is backlogged from 1.5 to 2.4
    run = GlobexRun(killed_at=0.9, events=[Sent("evt-before", 0.1), Sent("evt-down-1", 1.0), Sent("evt-down-2", 1.0),
                                           Sent("evt-after", 3.0)])
    failed = {"evt-before": 0.2, "evt-down-1": 1.6, "evt-down-2": 2.4, "evt-after": 3.0}
    retried = {"evt-before": 0.8, "evt-down-1": 3.0, "evt-down-2": 3.1, "evt-after": 3.7}
    run.logs["globex"] = globex_log(retried, failed)
    assert checks.globex_backlogged(run) == [(1.5, 2.4)]
    first, later = checks.retry_intervals(run)
    assert sorted(round(wait, 2) for wait in first) == [0.6, 0.7, 0.7] and later == []


def test_backing_off_is_told_from_a_fixed_interval_by_the_spread_of_the_waits_not_by_their_size() -> None:
    checks = load_checks()
    events = content_modules.load("scenarios/webhook-delivery/checks/conftest.py").PROBE_EVENTS
    rng = random.Random(20261207)

    def backs_off(first_wait: Callable[[], float], later_wait: Callable[[], float], later: int) -> bool:
        # as many waits as the quiet probe outage yields: one first wait per event, about two later ones
        return checks.backs_off(*checks.lengthening([first_wait() for _ in range(events)], [later_wait() for _ in range(later)]))

    def fixed_interval(jitter: float) -> Callable[[], float]:
        return lambda: rng.uniform(1 - jitter, 1 + jitter)

    for jitter in (0.0, 0.5, 1.0):  # no jitter, the fake's, and one as wide as full jitter's
        assert not any(backs_off(fixed_interval(jitter), fixed_interval(jitter), 140) for _ in range(1000)), jitter
    # the weakest backing off measured: full jitter capped at 2 s waits uniform(0, 1), then uniform(0, 2)
    assert all(backs_off(lambda: rng.uniform(0, 1), lambda: rng.uniform(0, 2), 180) for _ in range(1000))
