"""One seeded run of payments traffic through the load balancer, shared by the checks.

Three phases, each bounded in requests and wall time:
  burst   -- 20 distinct payments, each sent once, all at once, all at the slow issuer (1.5 s):
             how many the card network is charging at once (the throughput: Little's law), and
             both replicas serving;
  storm   -- 32 payments, each sent by 3 clients at the same instant, 8 payments at a time, with a
             1 s client timeout and retries (same key, same body); the accounts of a slow issuer
             take 1.5 s to authorise, so their clients give up and retry while the charge is in
             flight; the replica charging the 11th payment (a slow issuer's) is SIGKILLed mid-charge;
  probes  -- a key reused with a different body, and one key used by two accounts.
The card network's ledger (every charge it executed) is the ground truth the checks count against.
Keys carry a fresh run id, so a run never meets the answers of an earlier one; everything else
(accounts, amounts, which payments are slow or declined, when the kill comes) is seeded.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

import pytest

SEED = 20241202
ACCOUNTS = [f"acct_{number}" for number in range(1001, 1031)]
LEDGER_URL = "http://127.0.0.1:8091/v1/ledger"
REPLICAS = ("api-1", "api-2")
BURST, BURST_PARALLEL, BURST_TIMEOUT, BURST_DEADLINE = 20, 20, 3.0, 20.0
STORM, STORM_PARALLEL, COPIES, STORM_TIMEOUT, STORM_DEADLINE = 32, 8, 3, 1.0, 30.0
KILL_AT = 10  # the storm payment (a slow issuer's) whose charging replica is killed
SENDER_BUDGET = 20.0  # how long one client keeps retrying one payment


@dataclass(frozen=True)
class Payment:
    name: str  # e.g. "storm-017": what a learner reads in a message
    account: str
    key: str
    amount: int
    description: str

    def body(self) -> dict:
        return {"amount": self.amount, "currency": "usd", "description": self.description}


@dataclass(frozen=True)
class Attempt:
    status: int  # 0: no HTTP answer (timeout, connection reset)
    error: str
    headers: dict[str, str]
    body: dict | None
    started: float
    seconds: float

    @property
    def final(self) -> bool:
        """An answer a client keeps: anything but a timeout, a 5xx, a 429 or a 409 with Retry-After
        (the contract's "still in progress, retry with the same key")."""
        if self.status == 0 or self.status >= 500 or self.status == 429:
            return False
        return not (self.status == 409 and "retry-after" in self.headers)

    def outcome(self) -> tuple[int, str | None, str | None]:
        body = self.body or {}
        return self.status, body.get("id"), body.get("status")

    def describe(self) -> str:
        if self.status == 0:
            return self.error
        status, payment_id, payment_status = self.outcome()
        if payment_id:
            return f"{status} {payment_id} {payment_status}"
        error = (self.body or {}).get("error")
        code = error.get("code") or error.get("type") if isinstance(error, dict) else None
        return f"{status} {code}" if code else str(status)


@dataclass
class Sent:
    """Everything one client saw for one payment, attempt by attempt."""

    payment: Payment
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def answer(self) -> Attempt | None:
        return next((attempt for attempt in reversed(self.attempts) if attempt.final), None)


@dataclass
class Run:
    burst: list[Sent]
    burst_seconds: float
    storm: list[list[Sent]]  # per payment, one Sent per client
    conflict: tuple[Sent, Sent]  # first request, same key with a different body
    shared_key: tuple[Sent, Sent]  # one key, two accounts
    ledger: list[dict]  # the card network's executions during this run (each: caller, executed_at, answered_at)
    killed: str  # what the kill did, for messages
    replicas: dict[str, str]  # the replicas' IP addresses -> their service names

    def charges_by_replica(self) -> Counter[str]:
        """Who made the burst's charges (the burst comes before the kill)."""
        return Counter(self.replicas.get(entry.get("caller", ""), "another caller") for entry in self.burst_executions())

    def executions(self, payment: Payment) -> list[dict]:
        return [entry for entry in self.ledger if entry["account"] == payment.account and entry["description"] == payment.description]

    def storm_payments(self) -> list[Payment]:
        return [copies[0].payment for copies in self.storm]

    def burst_executions(self) -> list[dict]:
        descriptions = {sent.payment.description for sent in self.burst}
        return [entry for entry in self.ledger if entry["description"] in descriptions]


class Client:
    """POSTs payments to the load balancer on 127.0.0.1, one connection per attempt."""

    def __init__(self, url: str, stop: threading.Event) -> None:
        parts = urlsplit(url)
        assert parts.hostname == "127.0.0.1", f"traffic goes to 127.0.0.1 only, not {url}"
        self.host, self.port, self.stop = parts.hostname, parts.port or 80, stop

    def attempt(self, payment: Payment, timeout: float) -> Attempt:
        began, clock = time.time(), time.monotonic()
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            connection.request("POST", f"/v1/accounts/{payment.account}/payments", json.dumps(payment.body()),
                               {"Content-Type": "application/json", "Idempotency-Key": payment.key})
            reply = connection.getresponse()
            data = reply.read()
            try:
                body = json.loads(data)
            except ValueError:
                body = None
            headers = {name.lower(): value for name, value in reply.getheaders()}
            return Attempt(reply.status, "", headers, body if isinstance(body, dict) else None, began, time.monotonic() - clock)
        except (OSError, http.client.HTTPException) as exc:
            error = "timeout" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}"
            return Attempt(0, error, {}, None, began, time.monotonic() - clock)
        finally:
            connection.close()

    def send(self, payment: Payment, timeout: float, budget: float = SENDER_BUDGET) -> Sent:
        """Send until a final answer, retrying as a careful client does: same key, same body, backing off
        (Retry-After when given, but at most 0.5 s), for `budget` seconds or until the phase's deadline."""
        sent = Sent(payment)
        until, delay = time.monotonic() + budget, 0.1
        while True:
            attempt = self.attempt(payment, timeout)
            sent.attempts.append(attempt)
            if attempt.final:
                return sent
            try:
                wait = min(float(attempt.headers.get("retry-after", delay)), 0.5)
            except ValueError:
                wait = delay
            delay = min(delay * 2, 0.5)
            if time.monotonic() + wait >= until or self.stop.wait(wait):
                return sent


def plan(run_id: str, prefix: str, count: int, rng: random.Random, accounts: list[str], decline_every: int = 7) -> list[Payment]:
    payments = []
    for index in range(count):
        amount = rng.randrange(500, 99_900)
        # the card network declines an amount ending in 13: every 7th payment, and no other
        amount = amount - amount % 100 + 13 if index % decline_every == 3 else amount + (1 if amount % 100 == 13 else 0)
        payments.append(Payment(
            f"{prefix}-{index + 1:03d}", accounts[index % len(accounts)], f"{run_id}-{uuid.UUID(int=rng.getrandbits(128))}",
            amount, f"order {run_id}-{prefix}-{index + 1:03d}",
        ))
    return payments


def read_ledger(after: int = 0) -> list[dict]:
    with urllib.request.urlopen(f"{LEDGER_URL}?after={after}", timeout=10) as reply:
        return json.loads(reply.read())["data"]


def ledger_length() -> int:
    try:
        return len(read_ledger())
    except OSError as exc:
        raise AssertionError(f"the card network's ledger ({LEDGER_URL}) does not answer: {exc}") from None


def storm(client: Client, payments: list[Payment], kill: Callable[[Payment], None]) -> list[list[Sent]]:
    results: list[list[Sent]] = [[] for _ in payments]
    copies = ThreadPoolExecutor(STORM_PARALLEL * COPIES)

    def one(index: int) -> None:
        killer = threading.Thread(target=kill, args=(payments[index],)) if index == KILL_AT else None
        if killer:
            killer.start()
        futures = [copies.submit(client.send, payments[index], STORM_TIMEOUT) for _ in range(COPIES)]
        results[index] = [future.result() for future in futures]
        if killer:
            killer.join()

    with copies, ThreadPoolExecutor(STORM_PARALLEL) as pool:
        list(pool.map(one, range(len(payments))))
    return results


def charging_replica(payment: Payment, after: int, replicas: dict[str, str], stop: threading.Event) -> str | None:
    """The replica whose request for `payment` the card network is executing (bounded wait: 3 s)."""
    until = time.monotonic() + 3.0
    while time.monotonic() < until and not stop.is_set():
        for entry in read_ledger(after):
            if entry["account"] == payment.account and entry["description"] == payment.description:
                return replicas.get(entry.get("caller", ""))
        time.sleep(0.05)
    return None


@pytest.fixture(scope="session")
def slow_accounts(inspect) -> set[str]:
    env = dict(item.split("=", 1) for item in inspect("card-network")["Config"]["Env"] if "=" in item)
    slow = set(filter(None, env.get("SLOW_ACCOUNTS", "").split(",")))
    assert slow, "card-network names no SLOW_ACCOUNTS in its environment: the storm needs the slow issuer the stack ships with"
    return slow


@pytest.fixture(scope="session")
def run(instance, inspect, slow_accounts) -> Run:
    rng = random.Random(SEED)
    run_id = uuid.uuid4().hex[:8]
    fast = [account for account in ACCOUNTS if account not in slow_accounts]
    before = ledger_length()
    stop = threading.Event()
    client = Client(instance.entrypoint_url, stop)
    replicas = {address["IPAddress"]: service for service in REPLICAS
                for address in inspect(service)["NetworkSettings"]["Networks"].values() if address.get("IPAddress")}
    killed: list[str] = []

    def kill(payment: Payment) -> None:
        # the replica that is charging this slow-issuer payment dies mid-charge, every run
        target = charging_replica(payment, before, replicas, stop)
        victim = target or REPLICAS[-1]
        code, output = instance.exec(victim, ["pkill", "-KILL", "-x", "gunicorn"])
        how = f"while it charged {payment.name}" if target else f"(no replica was seen charging {payment.name})"
        killed.append(f"{victim} SIGKILLed {how}" if code == 0 else f"{victim} had no gunicorn to kill ({output.strip()[:80]})")

    def deadline(seconds: float) -> threading.Timer:
        stop.clear()
        timer = threading.Timer(seconds, stop.set)
        timer.start()
        return timer

    burst_payments = plan(run_id, "burst", BURST, rng, sorted(slow_accounts))
    timer = deadline(BURST_DEADLINE)
    started = time.monotonic()
    with ThreadPoolExecutor(BURST_PARALLEL) as pool:
        burst = list(pool.map(lambda payment: client.send(payment, BURST_TIMEOUT), burst_payments))
    burst_seconds = time.monotonic() - started
    timer.cancel()

    storm_payments = plan(run_id, "storm", STORM, rng, ACCOUNTS)
    storm_payments[KILL_AT] = replace(storm_payments[KILL_AT], account=min(slow_accounts))
    timer = deadline(STORM_DEADLINE)
    storm_results = storm(client, storm_payments, kill)
    timer.cancel()

    timer = deadline(12.0)
    first, changed, owner, other = plan(run_id, "probe", 4, rng, fast[10:], decline_every=99)
    changed = Payment("probe-conflict", first.account, first.key, first.amount + 100, changed.description)
    other = Payment("probe-shared-key", other.account, owner.key, other.amount, other.description)
    conflict = (client.send(first, BURST_TIMEOUT, 5.0), client.send(changed, BURST_TIMEOUT, 5.0))
    shared = (client.send(owner, BURST_TIMEOUT, 5.0), client.send(other, BURST_TIMEOUT, 5.0))
    timer.cancel()
    # a request a client gave up on may still be working inside a replica: give it the slowest issuer's
    # time to reach the card network before the ledger is read
    time.sleep(1.6)
    return Run(burst, burst_seconds, storm_results, conflict, shared, read_ledger(before),
               killed[0] if killed else "no replica was killed", replicas)
