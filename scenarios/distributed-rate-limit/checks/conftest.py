"""Seeded traffic and faults through payments-api, one fixture per phase, shared by the conditions.

The contract (README "The limit"): each API key gets LIMIT requests in any WINDOW seconds,
across the whole fleet, however its requests are spread over the replicas. A full grading run
has these phases, in this order (the order the conditions ask for them):

  even     keys over and keys well under the limit through nginx (round robin), paced over a few seconds
  latency  keys far under the limit and /healthz (no limiter: the reference), interleaved, at a
           moderate rate: a saturated stack measures its queues, not the limiter
  skewed   heavy keys sent straight to the replicas 70/20/10 (internal clients bypass nginx;
           a balancer is never perfectly even), as fast as the stack answers, 12 at a time
  probes   one request per even heavy key once its first 429's Retry-After has passed
  wave     one request each from many keys that then stop sending
  expiry   what Redis holds a window after the wave
  outage   a paced stream while Redis is frozen (3 s), then restarted; then a fresh burst

A phase that counts a key's accepted requests starts where the WINDOW-aligned period (the clock's
windows) has room for it, so a fixed-window limiter is graded on a window it wholly contains,
exactly as a sliding one; a key whose requests took longer than a window cannot be graded against
the limit at all (a busy machine: an error, never a FAIL). Key names carry a per-run nonce (a second `breakfix check` within a window
must not inherit the first one's counts); everything else is fixed by SEED.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import pytest

from harness.checks import BreakfixError, InstanceContext, RunQueue

LIMIT = 100
WINDOW = 10  # seconds: RATE_WINDOW_SECONDS of the stack as shipped
TOLERANCE = 0.05
LB_PORT = 8100
REPLICA_PORTS = {"api-1": 8101, "api-2": 8102, "api-3": 8103}
SEED = 14_04
REQUEST_TIMEOUT = 3.0  # a request that takes longer counts as unanswered
HEAVY, LIGHT = 130, 25  # requests of a key over its limit and of one well under it, in the even phase

# Redis, read server-side in one script: live keys (expired ones are filtered by KEYS), the
# records they hold (1 per string, the elements of a hash/set/zset/list/stream), keys without
# a TTL (a few names) and the longest TTL in ms.
INVENTORY = """
local keys = redis.call('KEYS', '*')
local records, no_ttl, max_ttl = 0, {}, 0
local sizes = {hash = 'HLEN', set = 'SCARD', zset = 'ZCARD', list = 'LLEN', stream = 'XLEN'}
for _, k in ipairs(keys) do
  local kind = redis.call('TYPE', k)['ok']
  records = records + (sizes[kind] and redis.call(sizes[kind], k) or 1)
  local ttl = redis.call('PTTL', k)
  if ttl < 0 then
    if #no_ttl < 3 then table.insert(no_ttl, k) end
  elseif ttl > max_ttl then
    max_ttl = ttl
  end
end
return cjson.encode({keys = #keys, records = records, no_ttl = no_ttl, max_ttl_ms = max_ttl})
"""


@dataclass
class Hit:
    """One request and what came back."""

    port: int
    path: str
    key: str | None
    status: int = 0  # 0: no HTTP answer (error says why)
    retry_after: str | None = None
    served_by: str = ""
    sent: float = 0.0  # time.monotonic() when sent
    seconds: float = 0.0
    error: str = ""

    @property
    def answered(self) -> bool:
        return self.status != 0


Plan = list[tuple[int, str, str | None]]  # (port, path, API key or None)


# errors of a keep-alive connection the server closed while idle, before the request reached it
STALE_CONNECTION = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def _send(connection: http.client.HTTPConnection, hit: Hit) -> None:
    headers = {"Authorization": f"Bearer {hit.key}"} if hit.key else {}
    hit.sent = time.monotonic()
    connection.request("GET", hit.path, headers=headers)
    response = connection.getresponse()
    response.read()
    hit.status, hit.retry_after = response.status, response.getheader("Retry-After")
    hit.served_by = response.getheader("X-Served-By", "")
    if response.getheader("Connection", "").lower() == "close":
        connection.close()


def drive(plan: Plan, *, concurrency: int, spread: float = 0.0, deadline: float = 20.0) -> list[Hit]:
    """Send every (port, path, key) of `plan` in order from `concurrency` keep-alive clients.

    With `spread`, request i leaves no earlier than start + i * spread / len(plan) (paced); else
    as fast as the stack answers. Bounded: each request REQUEST_TIMEOUT, the whole run `deadline`
    (requests not sent by then are returned unanswered with error "not sent"); deadlines are
    generous, so a busy machine finishes late rather than not at all.
    """
    hits = [Hit(port, path, key) for port, path, key in plan]
    cursor = iter(range(len(hits)))
    lock = threading.Lock()
    start = time.monotonic()

    def client() -> None:
        connections: dict[int, http.client.HTTPConnection] = {}
        while True:
            with lock:
                index = next(cursor, None)
            if index is None:
                break
            hit = hits[index]
            due = start + index * spread / len(hits)
            if due - start > deadline or time.monotonic() - start > deadline:
                hit.error = "not sent"
                continue
            time.sleep(max(0.0, due - time.monotonic()))
            reused = hit.port in connections
            for attempt in (1, 2):
                connection = connections.setdefault(hit.port, http.client.HTTPConnection("127.0.0.1", hit.port, timeout=REQUEST_TIMEOUT))
                try:
                    _send(connection, hit)
                    hit.error = ""
                    break
                except (OSError, http.client.HTTPException) as exc:
                    hit.error = type(exc).__name__
                    connections.pop(hit.port).close()
                    # a stale keep-alive connection: sent again once on a new one, as every HTTP
                    # client does for a GET; any other error is the answer
                    if not (reused and attempt == 1 and isinstance(exc, STALE_CONNECTION)):
                        break
            hit.seconds = time.monotonic() - hit.sent
        for connection in connections.values():
            connection.close()

    workers = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(deadline + REQUEST_TIMEOUT + 5)
    return hits


def room_in_window(needed: float) -> None:
    """Wait, if need be, until the current WINDOW-aligned period has `needed` seconds left."""
    left = WINDOW - time.time() % WINDOW
    if left < needed:
        time.sleep(left + 0.05)


@dataclass
class Phase:
    name: str
    hits: list[Hit]
    seconds: float
    room: float  # the seconds of window it was started with
    runnable: RunQueue | None = None  # the host's run queue while it ran, where a check judges its latency

    def by_key(self) -> dict[str, list[Hit]]:
        keys: dict[str, list[Hit]] = {}
        for hit in self.hits:
            if hit.key:
                keys.setdefault(hit.key, []).append(hit)
        return keys

    def span(self, key: str) -> float:
        """Seconds from a key's first request leaving to its last answer."""
        hits = [hit for hit in self.by_key().get(key, []) if hit.sent]
        return max(hit.sent + hit.seconds for hit in hits) - min(hit.sent for hit in hits) if hits else 0.0

    def accepted(self, keys: list[str]) -> dict[str, int]:
        by_key = self.by_key()
        return {key: sum(hit.status == 200 for hit in by_key.get(key, [])) for key in keys}

    def failures(self) -> str:
        """A short account of requests that got neither 200 nor 429, '' when there are none."""
        bad = [hit for hit in self.hits if hit.status not in (200, 429)]
        if not bad:
            return ""
        kinds: dict[str, int] = {}
        for hit in bad:
            label = str(hit.status) if hit.status else (hit.error or "no answer")
            kinds[label] = kinds.get(label, 0) + 1
        listed = ", ".join(f"{count}x {label}" for label, count in sorted(kinds.items()))
        return f"{len(bad)} of {len(self.hits)} requests got neither 200 nor 429 ({listed})"


@dataclass
class Keyed:
    """A phase and the keys it graded."""

    phase: Phase
    keys: list[str]
    light: list[str] = field(default_factory=list)
    sent: int = 150  # requests per key in `keys`


@dataclass
class Forgetting:
    probes: list[tuple[str, str, Hit]]  # (key, Retry-After of its first 429, the request after it)
    wave_keys: int
    after_wave: dict[str, object]
    later: dict[str, object]


@dataclass
class Outage:
    stream: Phase
    events: list[str]
    recovered: Phase


@dataclass(frozen=True)
class Contract:
    """The contract's numbers, for the check modules (which cannot import this one)."""

    limit: int = LIMIT
    window: int = WINDOW
    tolerance: float = TOLERANCE

    def bounds(self) -> tuple[int, int]:
        return round(self.limit * (1 - self.tolerance)), round(self.limit * (1 + self.tolerance))


def timed_phase(name: str, plan: Plan, *, room: float, **options: float) -> Phase:
    room_in_window(room)
    started = time.monotonic()
    hits = drive(plan, **options)  # type: ignore[arg-type]
    return Phase(name, hits, time.monotonic() - started, room)


def inventory(instance: InstanceContext) -> dict[str, object]:
    code, output = instance.exec("redis", ["redis-cli", "--raw", "EVAL", INVENTORY, "0"])
    try:
        found = json.loads(output.strip().splitlines()[-1]) if code == 0 else None
    except (ValueError, IndexError):
        found = None
    if not isinstance(found, dict):
        return {"error": f"redis-cli EVAL failed (exit {code}): {output.strip()[:200]}"}
    return found


def interleave(rng: random.Random, groups: list[list[tuple[int, str, str | None]]]) -> Plan:
    """The groups' requests mixed in a seeded order that keeps each group's own order."""
    slots = [index for index, group in enumerate(groups) for _ in group]
    rng.shuffle(slots)
    iterators = [iter(group) for group in groups]
    return [next(iterators[index]) for index in slots]


def skewed_plan(rng: random.Random, keys: list[str], per_key: int) -> Plan:
    """Each key's requests straight to the replicas 70/20/10, the heavy replica rotating per key."""
    names = list(REPLICA_PORTS)
    plan: Plan = []
    for number, key in enumerate(keys):
        order = names[number % 3:] + names[: number % 3]
        counts = [per_key * 7 // 10, per_key * 2 // 10]
        counts.append(per_key - sum(counts))
        ports = [REPLICA_PORTS[name] for name, count in zip(order, counts, strict=True) for _ in range(count)]
        rng.shuffle(ports)
        plan += [(port, "/v1/balance", key) for port in ports]
    return plan


@pytest.fixture(scope="session")
def redis_guard(instance: InstanceContext) -> Iterator[None]:
    """Whatever happens in the run, Redis is left running and unfrozen."""
    yield
    redis = instance.container("redis")
    redis.reload()
    if redis.status == "paused":
        redis.unpause()
    if redis.status != "running":
        redis.start()


def wait_for_redis(instance: InstanceContext, seconds: float) -> bool:
    """Bounded wait for Redis to answer PING after its restart (liveness, not a graded property)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        code, output = instance.exec("redis", ["redis-cli", "ping"])
        if code == 0 and "PONG" in output:
            return True
        time.sleep(0.2)
    return False


@pytest.fixture(scope="session")
def contract() -> Contract:
    return Contract()


@pytest.fixture(scope="session")
def keys() -> Callable[[str, int], list[str]]:
    nonce = os.urandom(4).hex()
    return lambda kind, count: [f"sk_test_{nonce}{kind}{number:03d}" for number in range(count)]


# Each phase is its own fixture, so a grading run of some conditions (confirm) runs only their
# phases; each has its own seeded generator, so a phase's traffic is the same whichever ran before.
@pytest.fixture(scope="session")
def even(keys: Callable[[str, int], list[str]]) -> Keyed:
    heavy, light = keys("h", 4), keys("l", 4)
    groups = [[(LB_PORT, "/v1/balance", key)] * HEAVY for key in heavy]
    groups += [[(LB_PORT, "/v1/balance", key)] * LIGHT for key in light]
    phase = timed_phase("even", interleave(random.Random(f"{SEED}-even"), groups), room=8, concurrency=16, spread=3.0, deadline=30)
    return Keyed(phase, heavy, light, HEAVY)


@pytest.fixture(scope="session")
def latency(keys: Callable[[str, int], list[str]]) -> Phase:
    calm = [[(LB_PORT, "/v1/balance", key)] * 10 for key in keys("p", 30)] + [[(LB_PORT, "/healthz", None)] * 300]
    with RunQueue() as runnable:
        phase = timed_phase("latency", interleave(random.Random(f"{SEED}-latency"), calm), room=0, concurrency=4, spread=3.0, deadline=30)
    return replace(phase, runnable=runnable)


@pytest.fixture(scope="session")
def skewed(keys: Callable[[str, int], list[str]]) -> Keyed:
    heavy = keys("s", 4)
    return Keyed(timed_phase("skewed", skewed_plan(random.Random(f"{SEED}-skewed"), heavy, 150), room=6, concurrency=12, deadline=30), heavy)


@pytest.fixture(scope="session")
def forgetting(instance: InstanceContext, even: Keyed, keys: Callable[[str, int], list[str]]) -> Forgetting:
    # the even keys' probes come before the wave, so a window after it no key that sent since
    # holds state: what Redis still has then is what it failed to forget
    probes: list[tuple[str, str, Hit]] = []
    due: list[tuple[float, str, str]] = []
    for key, hits in even.phase.by_key().items():
        first = next((hit for hit in sorted(hits, key=lambda hit: hit.sent + hit.seconds) if hit.status == 429), None)
        if key in even.keys and first is not None and first.retry_after and first.retry_after.isdigit() and int(first.retry_after) <= WINDOW:
            due.append((first.sent + first.seconds + int(first.retry_after) + 0.25, key, first.retry_after))
    for when, key, retry_after in sorted(due):
        time.sleep(max(0.0, when - time.monotonic()))
        probes.append((key, retry_after, drive([(LB_PORT, "/v1/balance", key)], concurrency=1)[0]))

    wave_keys = keys("w", 300)
    drive([(LB_PORT, "/v1/balance", key) for key in wave_keys], concurrency=16, deadline=10)
    wave_end = time.monotonic()
    after_wave = inventory(instance)
    time.sleep(max(0.0, wave_end + WINDOW + 1.5 - time.monotonic()))
    return Forgetting(probes, len(wave_keys), after_wave, inventory(instance))


@pytest.fixture(scope="session")
def outage(instance: InstanceContext, redis_guard: None, keys: Callable[[str, int], list[str]]) -> Outage:
    # a stream of keys well under the limit while Redis freezes (a stalled store: connections
    # hang) for longer than a request may take, then restarts (a crashed one: refused, then back empty)
    outage_keys = keys("o", 3)
    stream = [(LB_PORT, "/v1/balance", outage_keys[number % 3]) for number in range(60)]
    redis = instance.container("redis")
    events: list[str] = []
    result: list[list[Hit]] = []
    sender = threading.Thread(target=lambda: result.append(drive(stream, concurrency=6, spread=5.5, deadline=15)), daemon=True)
    started = time.monotonic()
    sender.start()
    time.sleep(0.6)
    redis.pause()
    events.append(f"{time.monotonic() - started:.1f}s paused")
    time.sleep(3.0)
    redis.unpause()
    redis.restart(timeout=1)
    events.append(f"{time.monotonic() - started:.1f}s restarted")
    sender.join(15 + REQUEST_TIMEOUT + 5)
    during = Phase("outage", result[0] if result else [], time.monotonic() - started, WINDOW)
    if not wait_for_redis(instance, 15):
        raise BreakfixError("Redis did not answer PING within 15 s of its restart: the grader cannot go on")
    events.append(f"{time.monotonic() - started:.1f}s answering PING")
    time.sleep(1.5)
    burst = [(LB_PORT, "/v1/balance", key) for key in keys("r", 2) for _ in range(150)]
    return Outage(during, events, timed_phase("after the restart", burst, room=5, concurrency=16, deadline=30))
