"""The webhook contract through an endpoint outage, a payout burst and a dispatcher killed mid-work,
counted in the customers' receivers' own logs."""

import itertools
from collections import defaultdict
from statistics import mean, variance

import pytest

from harness.checks import oversubscribed

# globex's normal traffic is under 1 delivery per 100 ms; the burst is 60. A wave is most of the burst at
# once: the reference's four workers reached 30 here, and full jitter 44 (retries queued behind the
# burst's first attempts, then sent back to back), while the order check below judges lockstep
MAX_RETRIES_PER_100MS = 50
# later retries of a failing delivery wait at least this many seconds longer than its first (mean)...
MIN_BACKOFF_STEP = 0.25
# ...and by at least this many standard errors of that difference: a schedule that does not back off
# gets there by chance about once in 10,000 checks, however wide its jitter
MIN_BACKOFF_ERRORS = 4.0
BACKLOG_AGE = 0.5  # seconds: an event published this long ago and never yet attempted is a backlog
MIN_INTERVALS = 8  # fewer retry intervals than this (of first retries, of later ones) are too few to judge backing off by
TOGETHER = (0.02, 0.25)  # seconds apart: two failures this close happened together (closer: no order to keep)
MIN_REORDERED = 0.15  # of the retries of failures that happened together, at least this share come in the other order
MIN_TOGETHER_PAIRS = 100  # fewer such pairs than this are too few to judge lockstep by
MAX_P95_LATENCY = 5.0  # seconds, producer to acme's receiver
HOLD_MARGIN = 0.5  # an acme event published in a hold's last half second may arrive after it
MIN_HOLDS = 2  # fewer holds with acme events waiting than this are too few to judge isolation by
MIN_SERVED_SHARE = 0.5  # of those holds, acme got a delivery during at least this share
MAX_ATTEMPTS_AFTER_GONE = 2  # a 410 is final: one attempt, and at most one more
MAX_MEMORY_MB = 100


def sample(items: list[str], most: int = 4) -> str:
    return "; ".join(items[:most]) + (f"; ... ({len(items) - most} more)" if len(items) > most else "")


def test_every_event_reaches_every_endpoint_that_is_up(run):
    """Every event reaches every endpoint that is up at the end, at least once (0 missing)"""
    assert not run.refused, f"the producer did not accept {len(run.refused)} publish call(s): " + sample(run.refused)
    missing = []
    for endpoint in run.UP_AT_END:
        expected = run.expected(endpoint)
        processed = run.processed(endpoint)
        lost = [sent for sent in expected if sent.event_id not in processed]
        if lost:
            attempted = {entry["event"] for entry in run.logs[endpoint]}
            never = sum(1 for sent in lost if sent.event_id not in attempted)
            missing.append(f"{endpoint} is missing {len(lost)} of its {len(expected)} events ({never} never attempted), "
                           f"e.g. {', '.join(sent.event_id for sent in lost[:2])}")
    assert not missing, (
        f"events lost ({run.killed}; globex down for {run.OUTAGE_SECONDS:.0f} s; waited until {run.DRAIN:.0f} s after it was back): "
        + sample(missing)
    )


def test_redeliveries_are_identical(run):
    """Every delivery is signed, and a redelivery is the same request: same event id, body and signature"""
    unsigned, differing = [], []
    for endpoint, entries in run.logs.items():
        requests = defaultdict(set)
        for entry in entries:
            if not entry["valid"]:
                unsigned.append(f"{endpoint}: {entry['event']} ({entry['signature'][:20] or 'no signature'})")
            requests[entry["event"]].add((entry["body"], entry["signature"]))
        differing += [f"{endpoint}: {event} sent as {len(variants)} different requests"
                      for event, variants in requests.items() if len(variants) > 1]
    assert not unsigned, f"{len(unsigned)} deliveries carry no valid signature of their body: " + sample(unsigned)
    assert not differing, f"{len(differing)} events were redelivered with a different body or signature: " + sample(differing)


def retries(run) -> list[tuple[int, float, float]]:
    """Each failed attempt at globex followed by another of the same event: (which failure of the event
    it was, 0 for the first; when it failed; when the next attempt came). A wait the dispatcher spent
    dead and restarting is left out."""
    attempts = defaultdict(list)
    for entry in run.logs["globex"]:
        attempts[entry["event"]].append(entry)
    back = run.back_at()
    return [(number, failed["t"], following["t"])
            for entries in attempts.values()
            for number, (failed, following) in enumerate(zip(entries, entries[1:], strict=False))
            if failed["status"] >= 300 and not (failed["t"] < back and following["t"] > run.killed_at)]


def globex_backlogged(run) -> list[tuple[float, float]]:
    """The stretches of time during which globex had an event published more than BACKLOG_AGE earlier still
    waiting for its first attempt (a dispatcher down, then catching up; the payout run's 60 at once)."""
    first_attempt: dict[str, float] = {}
    for entry in run.logs["globex"]:
        first_attempt.setdefault(entry["event"], entry["t"])
    waiting = sorted((sent.sent_at + BACKLOG_AGE, first_attempt[sent.event_id]) for sent in run.expected("globex")
                     if first_attempt.get(sent.event_id, 0.0) > sent.sent_at + BACKLOG_AGE)
    stretches: list[tuple[float, float]] = []
    for start, end in waiting:
        if stretches and start <= stretches[-1][1]:
            stretches[-1] = (stretches[-1][0], max(stretches[-1][1], end))
        else:
            stretches.append((start, end))
    return stretches


def retry_intervals(run) -> tuple[list[float], list[float]]:
    """Seconds from each failed attempt at globex to the next attempt of the same event: (after the first
    failure, after later ones). A wait that overlaps a backlog of first attempts is left out: a retry due
    then waits behind the older events (the most overdue first, 0.3-1.7 s here), whatever its schedule,
    so a first retry due within a second would look as late as any later one."""
    backlogged = globex_backlogged(run)
    waits = [(number, following - failed) for number, failed, following in retries(run)
             if not any(failed < end and following > start for start, end in backlogged)]
    return [wait for number, wait in waits if number == 0], [wait for number, wait in waits if number > 0]


def reordered_together(run) -> tuple[int, int]:
    """Of the pairs of failures at globex that happened together (TOGETHER apart), how many were retried in
    the other order: (reordered, pairs).

    A schedule without jitter retries each failure the same time after it, so retries come in the
    order their failures did, however late a busy machine makes them: a queue delays them in order,
    and only the workers' own interleaving swaps a few (5% at most here, for a fixed 1 s, at load 2-15
    with CPU and disk busy). With jitter, a pair that failed together is retried either way round
    (the reference: 34-47%)."""
    moments = sorted((failed, following) for _, failed, following in retries(run))
    reordered = pairs = 0
    for index, (failed, following) in enumerate(moments):
        for later_failed, later_following in itertools.islice(moments, index + 1, None):
            apart = later_failed - failed
            if apart > TOGETHER[1]:
                break
            if apart >= TOGETHER[0]:
                pairs += 1
                reordered += later_following < following
    return reordered, pairs


def lengthening(first: list[float], later: list[float]) -> tuple[float, float]:
    """How much longer the later waits are than the first ones: (seconds, in standard errors of that
    difference of means). The difference, not the ratio: a starved dispatcher adds to every wait,
    which flattens a ratio; and means, not medians: full jitter's waits grow in their upper half."""
    step = mean(later) - mean(first)
    error = (variance(first) / len(first) + variance(later) / len(later)) ** 0.5
    return step, step / max(error, 1e-6)


def backs_off(step: float, errors: float) -> bool:
    return step >= MIN_BACKOFF_STEP and errors >= MIN_BACKOFF_ERRORS


def test_retries_are_spread(run, backoff_probe):
    """Retries to a failing endpoint back off and are spread out, never a wave (at most 50 within 100 ms at globex)"""
    retried_at = sorted(entry["t"] for entry in run.logs["globex"] if entry["retry"])
    peak, at, start = 0, 0.0, 0
    for index, moment in enumerate(retried_at):
        while moment - retried_at[start] >= 0.1:
            start += 1
        if index - start + 1 > peak:
            peak, at = index - start + 1, retried_at[start]
    assert peak <= MAX_RETRIES_PER_100MS, (
        f"globex received {peak} retries within 100 ms, {at - run.outage[0]:+.1f} s from the start of its outage "
        f"(the bar: {MAX_RETRIES_PER_100MS}; {len(retried_at)} retries in all, after a payout run of {run.BURST} events "
        "failed together): do failures that happened together retry together?"
    )
    # a dispatcher starved of CPU or disk spreads even a lockstep schedule out, and queues its retries
    # into waits that grow: the order the retries come in is what a busy machine cannot blur
    reordered, pairs = reordered_together(run)
    if pairs >= MIN_TOGETHER_PAIRS:
        assert reordered >= MIN_REORDERED * pairs, (
            f"globex's retries keep in step: of {pairs} pairs of failures that happened within "
            f"{TOGETHER[1] * 1000:.0f} ms of each other, only {reordered} ({reordered / pairs:.0%}) were retried in the "
            f"other order (the bar: {MIN_REORDERED:.0%}): failures that happened together retry in the same order, "
            "each the same time later"
        )
    first, later = retry_intervals(backoff_probe)  # the quiet outage: no backlog, no kill between its attempts
    if len(first) >= MIN_INTERVALS and len(later) >= MIN_INTERVALS:
        step, errors = lengthening(first, later)
        assert backs_off(step, errors), (
            f"globex's retries do not back off while it is down: in a {backoff_probe.outage[1] - backoff_probe.outage[0]:.0f} s "
            f"outage with nothing else going on, a failed delivery waited {mean(first):.2f} s (mean of {len(first)}) for its "
            f"first retry and {mean(later):.2f} s (mean of {len(later)}) for later ones, {step:+.2f} s or {errors:.1f} standard "
            f"errors (backing off: at least {MIN_BACKOFF_STEP} s longer, by at least {MIN_BACKOFF_ERRORS:.0f} standard errors)"
        )


def holds_with_acme_waiting(run) -> list[bool]:
    """For each of initech's slow holds during which acme events were published: did acme get a delivery in it?

    A dispatcher that lets the slow endpoint hold up the others delivers nothing to anyone while
    initech keeps a request: none of these holds is served, on a quiet machine or a busy one. The
    holds overlapping the kill (no dispatcher at all, then its catching up) are not judged.
    """
    outage_from, outage_to = run.killed_at, run.back_at() + run.CATCH_UP
    published = [sent.sent_at for sent in run.expected("acme")]
    arrivals = [entry["t"] for entry in run.logs["acme"]]
    served = []
    for hold in run.logs["initech"]:
        if hold["outcome"] != "processed":
            continue
        start, end = hold["t"], hold["answered"]
        if start < outage_to and end > outage_from:
            continue
        if any(start <= sent_at < end - HOLD_MARGIN for sent_at in published):
            served.append(any(start < arrival < end for arrival in arrivals))
    return served


def test_healthy_endpoint_is_not_held_up(run):
    """A healthy endpoint's deliveries are not held up by slow or failing ones (acme served while initech holds a
    request; 95% of acme's within 5 s)"""
    holds = holds_with_acme_waiting(run)
    if len(holds) >= MIN_HOLDS:
        assert sum(holds) >= MIN_SERVED_SHARE * len(holds), (
            f"acme, a healthy endpoint, got no delivery during {len(holds) - sum(holds)} of the {len(holds)} times initech "
            "held a request while acme had events waiting: one slow endpoint holds up the others"
        )
    processed = run.processed("acme")
    # what is published while the killed dispatcher is down waits for it (and for its catching up),
    # whatever its design: those events are not judged, unless the restart took most of the run
    back = run.back_at()
    expected = [sent for sent in run.expected("acme") if not run.killed_at <= sent.sent_at < back + run.CATCH_UP]
    if len(expected) < 10:
        expected = run.expected("acme")
    latencies = sorted(processed[sent.event_id] - max(sent.sent_at, back if sent.sent_at >= run.killed_at else 0.0)
                       for sent in expected if sent.event_id in processed)
    assert latencies and len(latencies) >= 0.9 * len(expected), f"acme processed only {len(latencies)} of its {len(expected)} events"
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    # a machine so busy that starting the dispatcher again takes seconds delays every delivery as much:
    # the restart's excess over a second is the measure of it, and is allowed on top
    bar = MAX_P95_LATENCY + max(0.0, back - run.killed_at - 1.0)
    summary = (f"acme, a healthy endpoint, got its events {p95:.1f} s after they were published (p95 of {len(latencies)}; "
               f"median {latencies[len(latencies) // 2]:.1f} s; the bar: {bar:.1f} s; the killed dispatcher was back "
               f"{back - run.killed_at:.1f} s after the kill) while initech was slow and globex down")
    # With several runnable processes per core, the reference's 240 deliveries of the payout burst
    # wait for a core in turn (p95 7-13 s seen at load 15-39 on 2 cores): seconds then measure the
    # scheduler. Isolation is still judged there, by the holds above, which no load makes served.
    if p95 > bar and oversubscribed():
        if len(holds) < MIN_HOLDS:
            pytest.skip(f"not judged: this machine is too busy to time deliveries ({summary}); run the check again when it is quieter")
        return
    assert p95 <= bar, summary


def test_gone_endpoint_is_dead_lettered(run):
    """A 410 Gone endpoint's events end in dead_letters, not in endless retries"""
    attempts = defaultdict(int)
    for entry in run.logs["umbrella"]:
        attempts[entry["event"]] += 1
    hammered = sorted(((count, event) for event, count in attempts.items() if count > MAX_ATTEMPTS_AFTER_GONE), reverse=True)
    assert not hammered, (
        f"umbrella answered 410 Gone and still got {sum(count for count, _ in hammered)} attempts for {len(hammered)} "
        f"events (up to {hammered[0][0]} for one) within {run.timeline['drained']:.0f} s"
    )
    assert run.dead_letters is not None, f"the dead_letters table could not be read: {run.dead_letters_error}"
    expected = run.expected("umbrella")
    missing = [sent.event_id for sent in expected if sent.event_id not in run.dead_letters]
    assert not missing, (
        f"{len(missing)} of umbrella's {len(expected)} events are not in dead_letters (endpoint 'umbrella') "
        f"{run.timeline['drained']:.0f} s into the run, e.g. {', '.join(missing[:3])}"
    )


def test_dispatcher_memory_is_bounded(run):
    """The dispatcher's memory stays bounded (under 100 MB resident) through the run"""
    assert run.memory_kb is not None, "the dispatcher container's processes could not be read"
    assert run.memory_kb <= MAX_MEMORY_MB * 1024, (
        f"the dispatcher's processes hold {run.memory_kb // 1024} MB resident after the run (the bar: {MAX_MEMORY_MB} MB)"
    )
