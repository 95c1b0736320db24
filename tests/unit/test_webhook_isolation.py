"""webhook-delivery's isolation rule on recorded runs: a sequential dispatcher is held up on any machine, a
concurrent one is not, and the holds around the dispatcher's kill are not judged."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType

from tests import content_modules


def load_checks() -> ModuleType:
    return content_modules.load("scenarios/webhook-delivery/checks/test_delivery.py")


@dataclass(frozen=True)
class Sent:
    event_id: str
    sent_at: float


@dataclass
class RecordedRun:
    acme: list[Sent]
    logs: dict[str, list[dict]] = field(default_factory=dict)
    killed_at: float = 100.0
    CATCH_UP: float = 1.5

    def expected(self, endpoint: str) -> list[Sent]:
        assert endpoint == "acme"
        return self.acme

    def back_at(self) -> float:
        return self.killed_at + 0.5


def acme_events(count: int, every: float) -> list[Sent]:
    return [Sent(f"evt-{n}", n * every) for n in range(count)]


def hold(start: float, seconds: float = 1.5) -> dict:
    """One of initech's slow answers, as its receiver logs it: when the request came and when it was answered."""
    return {"t": start, "answered": start + seconds, "outcome": "processed"}


def test_a_dispatcher_that_waits_on_the_slow_endpoint_is_held_up_whatever_the_load() -> None:
    checks = load_checks()
    events = acme_events(24, 0.25)
    # one delivery at a time: acme's events go out only between initech's 1.5 s holds, however late
    holds = [hold(0.1), hold(1.7), hold(3.3)]
    acme_log = [{"t": moment, "outcome": "processed"} for moment in (1.65, 1.66, 3.25, 3.26, 4.85, 4.86)]
    run = RecordedRun(events, {"initech": holds, "acme": acme_log})
    assert checks.holds_with_acme_waiting(run) == [False, False, False]


def test_a_concurrent_dispatcher_keeps_serving_acme_during_every_hold_even_late() -> None:
    checks = load_checks()
    events = acme_events(24, 0.25)
    holds = [hold(0.1), hold(1.7), hold(3.3)]
    # a busy machine: every acme delivery 1.2 s late, but they keep arriving while initech holds its request
    acme_log = [{"t": sent.sent_at + 1.2, "outcome": "processed"} for sent in events]
    run = RecordedRun(events, {"initech": holds, "acme": acme_log})
    assert checks.holds_with_acme_waiting(run) == [True, True, True]


def test_holds_around_the_kill_and_refused_ones_are_not_judged() -> None:
    checks = load_checks()
    events = acme_events(24, 0.25)
    holds = [hold(0.1), {"t": 1.7, "outcome": "refused"}, hold(3.3)]
    run = RecordedRun(events, {"initech": holds, "acme": []}, killed_at=3.0)
    assert checks.holds_with_acme_waiting(run) == [False], "only the first hold: the second was refused, the third spans the kill"
