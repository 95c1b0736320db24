"""One seeded run of payment events through the producer, shared by the checks.

The run, every phase bounded in wall time:
  steady  -- 36 events, 6 a second for 6 s (every 4th a refund, the only type initech subscribes to);
  outage  -- globex answers 503 to everything from 0.5 s to 5 s, then is healthy again;
  kill    -- between 0.8 and 4 s, at the first moment initech is working on a delivery and globex
             has refused one, the dispatcher is SIGKILLed (its supervisor starts it again);
  burst   -- at 2.5 s a payout run: 60 events in one transaction, so their deliveries to globex
             fail together -- whether their retries stay together is what the spread check sees;
  drain   -- until every endpoint that is up has every event it subscribed to and the deleted
             endpoint's events are dead letters, at most until 7 s after globex came back (longer
             while deliveries keep arriving: a busy machine, not a design, is slow then).
Then the backoff probe, a second outage with nothing else going on: globex refuses everything for
4 s while 72 events come in at 24 a second, and the wait ends once globex has them all. Waits of the
first run overlap its backlogs and its kill too often to tell backing off from a jittered fixed
interval by; here every wait between two attempts is the schedule's own.
The receivers' own logs (every attempt they saw, and which they processed) are the ground truth.
Event ids are the producer's, fresh every run; the schedule, the types and the amounts are seeded.
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import ClassVar
from urllib.parse import urlsplit

import pytest

SEED = 20241214
RECEIVERS = {"acme": 8111, "initech": 8112, "globex": 8113, "hooli": 8114, "umbrella": 8115}
UP_AT_END = ("acme", "initech", "globex", "hooli")  # umbrella answers 410 Gone for good
PAYMENTS = {"payment.succeeded", "payment.failed", "payment.refunded"}
ONLY = {"initech": {"payment.refunded"}, "acme": PAYMENTS}  # the others subscribe to every type, payouts too
STEADY, RATE = 36, 6.0
BURST, BURST_AT = 60, 2.5
OUTAGE_AFTER, OUTAGE_SECONDS = 0.5, 4.5
KILL_FROM, KILL_BY = 0.8, 4.0
CATCH_UP = 1.5  # seconds after a restarted dispatcher's first attempt that its backlog may still hold up new events
DRAIN = 7.0  # seconds after globex is back: the brief's bound for a returned endpoint's backlog
STALL = 4.0  # past that bound, the wait goes on while some delivery arrived in the last STALL seconds...
HARD_LIMIT = 40.0  # ...up to this many seconds into the run
# one first wait per event, for the backing-off judgement: with 36, full jitter capped at 2 s measured
# 5.6-9.2 standard errors, near enough the bar of 4 to miss it about once in 100 checks; with 72, 7.7-11.1
PROBE_EVENTS, PROBE_RATE, PROBE_OUTAGE_AFTER, PROBE_OUTAGE_SECONDS = 72, 24.0, 0.3, 4.0


@dataclass(frozen=True)
class Sent:
    event_id: str
    type: str
    sent_at: float  # wall clock, as the receivers log theirs (one kernel clock)
    burst: bool


@dataclass
class Run:
    events: list[Sent]
    refused: list[str]  # what the producer answered instead of accepting an event
    logs: dict[str, list[dict]]  # per receiver, its attempts of this run's events, in arrival order
    dead_letters: set[str] | None  # umbrella's event ids in dead_letters (None: the table could not be read)
    dead_letters_error: str
    killed: str  # what the kill did, for messages
    killed_at: float  # wall clock, once the kill has been sent
    outage: tuple[float, float]  # wall clock
    memory_kb: int | None = None
    timeline: dict[str, float] = field(default_factory=dict)
    # the schedule, for the checks' messages (check modules import nothing from this one)
    UP_AT_END: ClassVar[tuple[str, ...]] = UP_AT_END
    BURST: ClassVar[int] = BURST
    OUTAGE_SECONDS: ClassVar[float] = OUTAGE_SECONDS
    DRAIN: ClassVar[float] = DRAIN
    CATCH_UP: ClassVar[float] = CATCH_UP

    def expected(self, endpoint: str) -> list[Sent]:
        types = ONLY.get(endpoint)
        return [sent for sent in self.events if types is None or sent.type in types]

    def back_at(self) -> float:
        """When the restarted dispatcher made its first delivery attempt, to any endpoint."""
        after = [entry["t"] for entries in self.logs.values() for entry in entries if entry["t"] > self.killed_at]
        return min(after, default=self.killed_at)

    def processed(self, endpoint: str) -> dict[str, float]:
        """event id -> when the receiver first processed it."""
        first: dict[str, float] = {}
        for entry in self.logs[endpoint]:
            if entry["outcome"] == "processed":
                first.setdefault(entry["event"], entry["t"])
        return first


def call(url: str, body: object = None, timeout: float = 3.0) -> object:
    assert urlsplit(url).hostname == "127.0.0.1", f"traffic goes to 127.0.0.1 only, not {url}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(request, timeout=timeout) as reply:
        return json.loads(reply.read())


def receiver(endpoint: str, path: str, body: object = None) -> dict:
    return call(f"http://127.0.0.1:{RECEIVERS[endpoint]}{path}", body)  # type: ignore[return-value]


def read_log(endpoint: str, after: int) -> list[dict]:
    entries: list[dict] = []
    while True:
        page = receiver(endpoint, f"/_log?after={after + len(entries)}")
        entries.extend(page["entries"])
        if not page["entries"] or after + len(entries) >= page["total"]:
            return entries


def create(producer: str, body: object) -> list[dict]:
    """The events the producer created from `body` (one, or a list in one transaction)."""
    for attempt in range(3):
        # a 503 (its database was busy) created nothing: the producer's clients send again, as this one does
        try:
            created = call(producer, body, timeout=10.0)  # the producer's speed is not graded
            break
        except urllib.error.HTTPError as exc:
            if attempt == 2 or exc.code != 503:
                raise
            time.sleep(0.2)
    return created if isinstance(created, list) else [created]  # type: ignore[return-value]


def payment(rng: random.Random, run_id: str, index: int, kind: str) -> dict:
    return {"payment": f"pay_{rng.getrandbits(48):012x}", "amount": rng.randrange(500, 99_900), "currency": "usd",
            "run": run_id, "sequence": f"{kind}-{index + 1:03d}"}


def plan(rng: random.Random, run_id: str) -> tuple[list[dict], list[dict]]:
    steady = [{"type": "payment.refunded" if index % 4 == 1 else rng.choice(["payment.succeeded"] * 6 + ["payment.failed"]),
               "data": payment(rng, run_id, index, "steady")} for index in range(STEADY)]
    burst = [{"type": "payout.paid", "data": payment(rng, run_id, index, "payout")} for index in range(BURST)]
    return steady, burst


def waited_out(t0: float, deadline: float, progressed: float) -> bool:
    """Past `deadline` with no delivery in the last STALL seconds, or past HARD_LIMIT since `t0`."""
    return time.monotonic() >= min(t0 + HARD_LIMIT, max(deadline, progressed + STALL))


@pytest.fixture(scope="session")
def receiver_codes() -> dict[str, str]:
    """Each customer endpoint's receiver -> the digest of the code it runs."""
    return {endpoint: receiver(endpoint, "/_status")["code"] for endpoint in RECEIVERS}


@pytest.fixture(scope="session")
def run(instance) -> Run:
    producer = instance.entrypoint_url.rstrip("/") + "/v1/events"
    run_id = f"{time.time_ns():x}"
    steady, burst = plan(random.Random(SEED), run_id)
    try:
        before = {endpoint: receiver(endpoint, "/_status")["attempts"] for endpoint in RECEIVERS}
    except OSError as exc:
        raise AssertionError(f"a customer endpoint's receiver does not answer on 127.0.0.1 ({exc}): is the stack running?") from None
    events: list[Sent] = []
    refused: list[str] = []
    lock = threading.Lock()
    killed: list[str] = []
    killed_at: list[float] = []

    def publish(items: list[dict], is_burst: bool) -> None:
        sent_at = time.time()
        try:
            created = create(producer, items if is_burst else items[0])
        except (OSError, ValueError) as exc:
            with lock:
                refused.append(f"{len(items)} event(s): {exc}")
            return
        with lock:
            events.extend(Sent(item["id"], item["type"], sent_at, is_burst) for item in created)

    def kill() -> None:
        time.sleep(max(0.0, t0 + KILL_FROM - time.monotonic()))
        seen = ""
        while time.monotonic() < t0 + KILL_BY:
            try:
                busy = receiver("initech", "/_status")["in_flight"] > 0
                refusals = receiver("globex", "/_status")["refused"] > refused_before
            except OSError:
                busy = refusals = False
            if busy and refusals:
                seen = "while initech was processing a delivery and globex was refusing them"
                break
            time.sleep(0.05)
        code, output = instance.exec("dispatcher", ["sh", "-c", 'kill -KILL "$(cat /tmp/app.pid)"'])
        killed_at.append(time.time())
        when = f"{time.monotonic() - t0:.1f} s into the run"
        killed.append(f"the dispatcher SIGKILLed {when} {seen or '(no delivery was seen in flight)'}" if code == 0
                      else f"the dispatcher could not be killed ({output.strip()[:80]})")

    refused_before = receiver("globex", "/_status")["refused"]
    t0 = time.monotonic()
    outage_start = time.time() + OUTAGE_AFTER
    try:
        receiver("globex", "/_outage", {"after": OUTAGE_AFTER, "seconds": OUTAGE_SECONDS})
    except OSError as exc:
        raise AssertionError(f"globex's receiver did not take the outage schedule: {exc}") from None
    killer = threading.Thread(target=kill)
    killer.start()
    payout = threading.Timer(BURST_AT, publish, (burst, True))
    payout.start()
    # each event on its own thread at its own instant: a slow answer from the producer does not stretch the schedule
    publishers = [threading.Timer(index / RATE, publish, ([item], False)) for index, item in enumerate(steady)]
    for publisher in publishers:
        publisher.start()
    for publisher in publishers:
        publisher.join()
    payout.join()
    killer.join()
    produced = time.monotonic() - t0

    ids = {sent.event_id for sent in events}
    deadline = t0 + OUTAGE_AFTER + OUTAGE_SECONDS + DRAIN
    logs: dict[str, list[dict]] = {}
    dead: set[str] | None = None
    dead_error = ""

    def read_dead_letters() -> tuple[set[str] | None, str]:
        code, output = instance.exec("db", ["psql", "-U", "postgres", "-At", "-c",
                                            "SELECT event_id FROM dead_letters WHERE endpoint = 'umbrella'"])
        if code != 0:
            return None, output.strip()[:200]
        return {line.strip() for line in output.splitlines()} & ids, ""

    progress, progressed = -1, time.monotonic()
    while True:
        logs = {endpoint: [entry for entry in read_log(endpoint, before[endpoint]) if entry["event"] in ids]
                for endpoint in RECEIVERS}
        partial = Run(events, refused, logs, None, "", "", 0.0, (0.0, 0.0))
        complete = all(len(partial.processed(endpoint)) >= len(partial.expected(endpoint)) for endpoint in UP_AT_END)
        # a machine too busy for the stated bound still gets its deliveries counted while they keep coming
        done = sum(len(partial.processed(endpoint)) for endpoint in UP_AT_END) + len({entry["event"] for entry in logs["umbrella"]})
        if done > progress:
            progress, progressed = done, time.monotonic()
        over = waited_out(t0, deadline, progressed)
        if complete or over:
            dead, dead_error = read_dead_letters()
            if dead is not None and len(dead) >= len(ids) or over:
                break
        time.sleep(0.5)
    drained = time.monotonic() - t0

    code, output = instance.exec("dispatcher", ["sh", "-c", "cat /proc/[0-9]*/status 2>/dev/null | grep VmRSS"])
    memory = sum(int(line.split()[1]) for line in output.splitlines() if line.startswith("VmRSS")) if code == 0 else None
    return Run(events, refused, logs, dead, dead_error, killed[0] if killed else "the dispatcher was not killed",
               killed_at[0] if killed_at else 0.0,
               (outage_start, outage_start + OUTAGE_SECONDS), memory, {"produced": produced, "drained": drained})


@pytest.fixture(scope="session")
def backoff_probe(instance, run: Run) -> Run:
    """The second, quiet outage (after the first run has drained: `run` is asked for first): globex's
    attempts at the probe's events, for judging how the waits between them grow."""
    producer = instance.entrypoint_url.rstrip("/") + "/v1/events"
    rng, run_id = random.Random(SEED + 1), f"{time.time_ns():x}"
    before = receiver("globex", "/_status")["attempts"]
    t0 = time.monotonic()
    outage_start = time.time() + PROBE_OUTAGE_AFTER
    receiver("globex", "/_outage", {"after": PROBE_OUTAGE_AFTER, "seconds": PROBE_OUTAGE_SECONDS})
    events, refused = [], []
    for index in range(PROBE_EVENTS):
        time.sleep(max(0.0, t0 + PROBE_OUTAGE_AFTER + index / PROBE_RATE - time.monotonic()))
        body = {"type": "payment.succeeded", "data": payment(rng, run_id, index, "probe")}
        sent_at = time.time()
        try:
            events += [Sent(item["id"], item["type"], sent_at, False) for item in create(producer, body)]
        except (OSError, ValueError) as exc:
            refused.append(f"1 event(s): {exc}")
    ids = {sent.event_id for sent in events}
    deadline, progressed, progress = t0 + PROBE_OUTAGE_AFTER + PROBE_OUTAGE_SECONDS + DRAIN, time.monotonic(), -1
    while True:
        logs = {"globex": [entry for entry in read_log("globex", before) if entry["event"] in ids]}
        processed = {entry["event"] for entry in logs["globex"] if entry["outcome"] == "processed"}
        if len(processed) > progress:
            progress, progressed = len(processed), time.monotonic()
        if processed >= ids or waited_out(t0, deadline, progressed):
            break
        time.sleep(0.5)
    return Run(events, refused, logs, None, "", "no kill in the backoff probe", 0.0,
               (outage_start, outage_start + PROBE_OUTAGE_SECONDS))
