"""The payments contract under retries, concurrency and a replica killed mid-storm, counted against
the card network's own record of every charge it executed."""

from collections import Counter

# Throughput is concurrency over latency (Little's law): with the card network's latency fixed,
# how many payments it is charging at once is the throughput, and unlike payments per second it
# does not fall when the machine is busy. The burst sends 20 distinct payments at once to a
# 1.5 s issuer: the broken release has them all in flight together (~20), one database-wide lock 1.
MIN_IN_FLIGHT = 5  # a quarter of the broken release's
MIN_SHARE = 0.25  # of the burst's charges, per replica (round robin gives each about half)


def every_sent(run) -> list:
    return [*run.burst, *(sent for copies in run.storm for sent in copies), *run.conflict, *run.shared_key]


def charged(sent) -> bool:
    answer = sent.answer
    return answer is not None and answer.status in (201, 402) and bool((answer.body or {}).get("id"))


def sample(items: list[str], most: int = 4) -> str:
    return "; ".join(items[:most]) + (f"; ... ({len(items) - most} more)" if len(items) > most else "")


def test_no_payment_is_charged_twice(run):
    """The card network executed every payment at most once (no double charges)"""
    payments = {sent.payment for sent in every_sent(run) if sent.payment.name != "probe-conflict"}
    doubled = sorted((p for p in payments if len(run.executions(p)) > 1), key=lambda p: p.name)
    extra = sum(len(run.executions(p)) - 1 for p in doubled)
    assert not doubled, (
        f"the card network charged {len(doubled)} of {len(payments)} payments more than once ({extra} extra charges, "
        f"during a storm in which each payment was sent by {len(run.storm[0])} clients and {run.killed}): "
        + sample([f"{p.name} ({p.account}): {len(run.executions(p))} charges" for p in doubled])
    )


def test_every_payment_gets_an_answer(run):
    """Every client gets a final answer for its payment, retrying with the same key (no payment left hanging)"""
    unanswered = [sent for sent in every_sent(run) if sent.answer is None]
    assert not unanswered, (
        f"{len(unanswered)} of {len(every_sent(run))} clients never got a final answer within their retries: "
        + sample([f"{s.payment.name}: {', '.join(a.describe() for a in s.attempts[-4:])}" for s in unanswered])
    )


def test_every_accepted_payment_was_charged(run):
    """Every payment the API answered as succeeded or declined was executed by the card network, as answered (none lost)"""
    lost, wrong = [], []
    for sent in every_sent(run):
        if not charged(sent):
            continue
        body = sent.answer.body  # type: ignore[union-attr]
        executed = {entry["network_charge"]: entry for entry in run.executions(sent.payment)}
        entry = executed.get(body.get("network_charge"))
        if entry is None:
            lost.append(f"{sent.payment.name}: answered {body.get('status')} {body['id']}, the network never executed it")
        elif entry["status"] != body.get("status") or entry["amount"] != sent.payment.amount:
            wrong.append(f"{sent.payment.name}: answered {body.get('status')}, the network says {entry['status']} of {entry['amount']}")
    assert not lost, f"{len(lost)} answered payments are not in the card network's ledger: " + sample(lost)
    assert not wrong, f"{len(wrong)} answers disagree with the card network: " + sample(wrong)


def test_retries_replay_the_first_answer(run):
    """Every client of a payment, retry or duplicate, gets the same answer: one payment id and status"""
    differing = []
    for copies in run.storm:
        outcomes = Counter(sent.answer.outcome() if sent.answer else None for sent in copies)
        if len(outcomes) > 1 or any(outcome is None or outcome[1] is None for outcome in outcomes):
            answers = {sent.answer.describe() if sent.answer else f"no answer ({sent.attempts[-1].describe()})" for sent in copies}
            differing.append(f"{copies[0].payment.name}: {' / '.join(sorted(answers))}")
    assert not differing, (
        f"{len(differing)} of {len(run.storm)} payments got different answers for the same Idempotency-Key: " + sample(differing)
    )


def test_same_key_with_a_different_request_is_refused(run):
    """The same key with a different request body gets a 4xx conflict, and is not charged"""
    first, changed = run.conflict
    assert charged(first), f"the first request of the conflict probe got no payment: {', '.join(a.describe() for a in first.attempts)}"
    answer = changed.answer
    assert answer is not None, f"the reused key got no final answer: {', '.join(a.describe() for a in changed.attempts)}"
    assert 400 <= answer.status < 500 and answer.status != 402, (
        f"the same Idempotency-Key with a different amount was answered {answer.describe()}, not a 4xx conflict"
    )
    executions = [entry for entry in run.ledger if entry["account"] == first.payment.account and entry["amount"] == changed.payment.amount]
    assert not executions, f"the same key with a different amount was charged anyway ({len(executions)} charge(s) of {changed.payment.amount})"


def test_keys_are_scoped_to_the_account(run):
    """Two accounts using the same key get two independent payments"""
    for sent in run.shared_key:
        assert charged(sent), (
            f"{sent.payment.account} used a key another account had used: answered "
            f"{', '.join(a.describe() for a in sent.attempts)}, not its own payment"
        )
        body = sent.answer.body  # type: ignore[union-attr]
        assert body.get("account") == sent.payment.account and body.get("amount") == sent.payment.amount, (
            f"{sent.payment.account} got another account's payment back for a shared key ({body.get('account')}, {body.get('amount')})"
        )
        assert len(run.executions(sent.payment)) == 1, f"{sent.payment.account}'s payment was charged {len(run.executions(sent.payment))} times"
    first, second = (sent.answer.body["id"] for sent in run.shared_key)  # type: ignore[union-attr]
    assert first != second, f"both accounts got the same payment id {first}"


def peak_in_flight(executions: list[dict]) -> int:
    """The most charges the card network was executing at one instant."""
    events = sorted((time, step) for entry in executions if entry.get("answered_at")
                    for time, step in ((entry["executed_at"], 1), (entry["answered_at"], -1)))
    peak = level = 0
    for _, step in events:  # at a tie, an answer (-1) sorts before a new charge (+1): touching is not overlapping
        level += step
        peak = max(peak, level)
    return peak


def test_throughput_holds(run):
    """Unrelated payments are charged in parallel (at least a quarter of the broken release's throughput)"""
    executions = run.burst_executions()
    peak = peak_in_flight(executions)
    answered = sum(1 for sent in run.burst if sent.answer)
    assert peak >= MIN_IN_FLIGHT, (
        f"with {len(run.burst)} distinct payments sent at once to a slow issuer, the card network never had more than "
        f"{peak} of them in flight at once (the broken release: about 20; the bar: {MIN_IN_FLIGHT}); {answered} answered "
        f"in {run.burst_seconds:.1f} s -- are unrelated payments waiting for each other?"
    )


def test_both_replicas_serve(run):
    """Both API replicas serve a fair share of the payments"""
    # counted from the card network's side (who made each of the burst's charges), so a slow answer
    # that a client gave up on still counts for the replica that did the work
    charges = run.charges_by_replica()
    total = sum(charges.values()) or 1
    shares = ", ".join(f"{name} {charges[name] * 100 // total}%" for name in ("api-1", "api-2"))
    starved = [name for name in ("api-1", "api-2") if charges[name] < total * MIN_SHARE]
    assert not starved, f"replica(s) {', '.join(starved)} make too few of the charges ({shares} of {total})"
