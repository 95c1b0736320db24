"""Runs INSIDE the sandbox: exercises the learner's KVStore and prints one JSON line of findings.

usage: python3 /grader/kv_grader.py functional|perf
Each check's finding is None or what went wrong (breakfix_findings); a learner's exception is a
finding, never a crash of the grader. The host-side checks show the findings as messages.
"""

from __future__ import annotations

import functools
import gc
import math
import random
import sys
import threading
import time
import tracemalloc
import weakref
from collections.abc import Callable
from typing import Any

from breakfix_findings import check, expect, first, report


class Clock:
    """The controllable clock handed to the store: it moves only when the grader says so."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Blob:
    """A value the grader can watch with a weak reference, to see whether the store let go of it."""

    __slots__ = ("__weakref__", "payload")

    def __init__(self, size: int = 256) -> None:
        self.payload = bytearray(size)


def new_store(clock: Clock) -> Any:
    from kvstore import KVStore  # the learner's module, from /work

    return KVStore(clock=clock)


# -- functional ---------------------------------------------------------------------------------------


def functional() -> None:
    @check("crud")
    def _() -> str | None:
        store = new_store(Clock())
        store.set("a", 1)
        store.set("b", "two")
        problems = [expect("get('a') after set('a', 1)", store.get("a"), 1), expect("get('missing')", store.get("missing"), None),
                    expect("get('missing', 'dflt')", store.get("missing", "dflt"), "dflt")]
        store.set("a", 10)
        problems.append(expect("get('a') after overwriting with 10", store.get("a"), 10))
        problems.append(expect("delete('b') of a live key", store.delete("b"), True))
        problems.append(expect("get('b') after delete", store.get("b"), None))
        problems.append(expect("delete('b') again", store.delete("b"), False))
        problems.append(expect("len() with one key", len(store), 1))
        return first(*problems)

    @check("expiry_exact")
    def _() -> str | None:
        clock = Clock(1000.0)
        store = new_store(clock)
        store.set("k", "v", ttl=5)
        store.set("forever", "v")
        clock.now = 1004.999
        problems = [expect("set at t=1000 with ttl=5, get at t=1004.999", store.get("k"), "v"),
                    expect("len() at t=1004.999", len(store), 2)]
        clock.now = 1005.0
        problems += [expect("set at t=1000 with ttl=5, get at exactly t=1005 (expired AT set-time + ttl)", store.get("k"), None),
                     expect("len() at t=1005", len(store), 1),
                     expect("delete() of the expired key at t=1005", store.delete("k"), False),
                     expect("get('forever') (no ttl) at t=1005", store.get("forever"), "v")]
        return first(*problems)

    @check("ttl_rules")
    def _() -> str | None:
        clock = Clock(1000.0)
        store = new_store(clock)
        store.set("k", 1, ttl=10)
        clock.now = 1002.0
        problems = [expect("ttl('k') 2 s after set with ttl=10", store.ttl("k"), 8.0)]
        store.set("k", 2)
        clock.now = 1050.0
        problems.append(expect("set('k', 2) without ttl clears the expiry: get at t=1050", store.get("k"), 2))
        problems.append(expect("ttl('k') of a key without expiry", store.ttl("k"), None))
        try:
            store.ttl("missing")
            problems.append("ttl('missing'): expected KeyError, nothing raised")
        except KeyError:
            pass
        for bad in (0, -1, math.nan, math.inf, -math.inf, True, False, "5"):
            try:
                store.set("bad", 1, ttl=bad)
                problems.append(f"set('bad', 1, ttl={bad!r}): expected ValueError, nothing raised")
            except ValueError:
                pass
        problems.append(expect("get('bad') after only refused set() calls (a refused set stores nothing)", store.get("bad"), None))
        store.set("float-ttl", 1, ttl=2.5)
        problems.append(expect("ttl('float-ttl') right after set with ttl=2.5", store.ttl("float-ttl"), 2.5))
        return first(*problems)

    @check("incr")
    def _() -> str | None:
        clock = Clock(1000.0)
        store = new_store(clock)
        problems = [expect("incr('n') of a missing key", store.incr("n"), 1), expect("incr('n', 5)", store.incr("n", 5), 6)]
        store.set("t", 1, ttl=10)
        clock.now = 1005.0
        problems.append(expect("incr('t') on a key set with ttl=10, 5 s later", store.incr("t"), 2))
        clock.now = 1010.0
        problems.append(expect("get('t') at its original expiry (incr keeps the ttl)", store.get("t"), None))
        problems.append(expect("incr('t') after it expired starts from 0", store.incr("t"), 1))
        clock.now = 5000.0
        problems.append(expect("that new 't' has no ttl: get much later", store.get("t"), 1))
        for value in ("text", 1.5, 2.0, True):
            store.set("v", value, ttl=100)
            try:
                store.incr("v")
                problems.append(f"incr('v') on the value {value!r} ({type(value).__name__}): expected TypeError, nothing raised")
            except TypeError:
                pass
            problems.append(expect(f"get('v') after the refused incr of {value!r}", store.get("v"), value))
        store.set("n", 10, ttl=100)
        for delta in (1.5, 2.0, True):
            try:
                store.incr("n", delta)
                problems.append(f"incr('n', {delta!r}) ({type(delta).__name__} delta): expected TypeError, nothing raised")
            except TypeError:
                pass
        problems.append(expect("get('n') after refused incr calls with non-int deltas", store.get("n"), 10))
        problems.append(expect("ttl('n') after them (the ttl is untouched)", store.ttl("n"), 100 - (clock.now - 5000.0)))
        problems.append(expect("incr('n', -3) (a negative int delta)", store.incr("n", -3), 7))
        return first(*problems)

    @check("reclaim_expired")
    def _() -> str | None:
        clock = Clock(1000.0)
        store = new_store(clock)
        refs = []
        for index in range(10_000):
            blob = Blob()
            refs.append(weakref.ref(blob))
            store.set(f"session:{index}", blob, ttl=10 + index % 5)
        del blob
        clock.now = 1015.0
        store.get("unrelated-key")
        gc.collect()
        alive = sum(1 for ref in refs if ref() is not None)
        if alive:
            return (f"10,000 keys set with ttl 10..14 s at t=1000, clock moved to t=1015, then get('unrelated-key'): "
                    f"the store still holds {alive} of the expired values (they must be released by the first call after expiry, not only hidden)")
        return expect("len() after they all expired", len(store), 0)

    @check("memory_bounded")
    def _() -> str | None:
        clock = Clock(1000.0)
        store = new_store(clock)
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for index in range(50_000):
            store.set(f"hot:{index % 100}", index, ttl=1_000_000)
        for index in range(30_000):
            store.set(f"tmp:{index}", index, ttl=1_000_000)
            store.delete(f"tmp:{index}")
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        if retained > 2 * 2**20:
            return (f"50,000 overwrites of 100 keys and 30,000 set+delete pairs (all with a long ttl) leave "
                    f"{retained / 2**20:.1f} MB allocated for 100 live keys: bookkeeping of overwritten or deleted keys must not pile up")
        return expect("len() after that", len(store), 100)

    @check("concurrent_incr")
    def _() -> str | None:
        store = new_store(Clock())
        run_threads(8, lambda _: [store.incr("counter") for _ in range(5000)])
        problem = expect("8 threads x 5,000 incr('counter') at once: final get('counter')", store.get("counter"), 40_000)
        for round_number in range(1, RACE_ROUNDS + 1):
            if problem:
                return problem
            store = new_store(Clock())
            key = SwitchingKey(f"hits:{round_number}")
            run_threads(16, functools.partial(incr_many, store, key, 50))
            problem = expect(f"round {round_number}: 16 threads released together x 50 incr({key!r}): final get", store.get(key), 800)
        return problem

    @check("concurrent_delete")
    def _() -> str | None:
        for round_number in range(1, RACE_ROUNDS + 1):
            store = new_store(Clock())
            key = SwitchingKey(f"session:{round_number}")
            store.set(key, "v")
            answers: list[Any] = []
            run_threads(16, functools.partial(delete_into, store, key, answers))
            if answers.count(True) != 1:
                return (f"round {round_number}: 16 threads released together each call delete({key!r}) of one live key: expected "
                        f"exactly one True, got {answers.count(True)} True and {answers.count(False)} False")
        return None

    @check("concurrent_mixed")
    def _() -> str | None:
        clock = Clock(1000.0)
        store = new_store(clock)

        def worker(number: int) -> None:
            rng = random.Random(number)
            for step in range(3000):
                key = f"w{number}:{step % 50}"
                store.set(key, step, ttl=rng.choice([None, 0.5, 2.0]))
                store.get(f"w{(number + 1) % 8}:{step % 50}")
                if step % 7 == 0:
                    store.delete(key)
                if number == 0:
                    clock.now += 0.01
                store.set(f"own:{number}", step)

        run_threads(8, worker)
        clock.now += 10
        return first(*[expect(f"own:{number} after its thread's 3,000 steps", store.get(f"own:{number}"), 2999) for number in range(8)],
                     expect("len() once every ttl'd key expired", len(store), 8 + sum(1 for n in range(8) for k in range(50) if store.get(f"w{n}:{k}") is not None)))


RACE_ROUNDS = 10


class SwitchingKey(str):
    """A key equal to its text whose every hash lets other threads run: a store that reads an entry,
    then writes it back without a lock, hashes the key in between and loses the race every time
    (under the GIL, a lock-free read-modify-write otherwise fails only once in a long while)."""

    __slots__ = ()

    def __hash__(self) -> int:
        time.sleep(0)
        return str.__hash__(self)


def incr_many(store: Any, key: str, times: int, _: int) -> None:
    for _ in range(times):
        store.incr(key)


def delete_into(store: Any, key: str, answers: list[Any], _: int) -> None:
    answers.append(store.delete(key))


def run_threads(count: int, target: Callable[[int], Any]) -> None:
    """Start `count` threads at once with frequent switches; re-raise the first error a thread hit."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def body(number: int) -> None:
        try:
            barrier.wait()
            target(number)
        except BaseException as exc:  # noqa: BLE001 -- reported to the grader, not swallowed
            errors.append(exc)

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # make races show up in a short run
    try:
        threads = [threading.Thread(target=body, args=(number,), daemon=True) for number in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        if any(thread.is_alive() for thread in threads):
            raise TimeoutError("threads still running after 30 s: a deadlock?")
    finally:
        sys.setswitchinterval(previous)
    if errors:
        raise errors[0]


# -- performance --------------------------------------------------------------------------------------


OPERATIONS = 1_000_000


def operations() -> tuple[list[int], list[str], list[float | None]]:
    """A fixed mix over 100k keys (generated once, run against both stores)."""
    rng = random.Random(4)
    keys = [f"user:{n}" for n in range(100_000)]
    return (rng.choices(range(10), k=OPERATIONS), rng.choices(keys, k=OPERATIONS),
            rng.choices([1.0, 5.0, 30.0, None], k=OPERATIONS))


def workload(store_class: type, ops: tuple[list[int], list[str], list[float | None]]) -> tuple[float, int]:
    """The mix with the clock advancing 0.1 ms per call, so keys expire throughout.
    Returns (seconds, a digest of every answer) -- the digest must match the reference's."""
    kinds, keys, ttls = ops
    operations = len(kinds)
    clock = Clock(0.0)
    store = store_class(clock=clock)
    digest = 0
    started = time.perf_counter()
    for step in range(operations):
        clock.now = step * 1e-4
        kind, key = kinds[step], keys[step]
        if kind < 4:
            store.set(key, step, ttl=ttls[step])
        elif kind < 8:
            digest = (digest * 31 + hash(store.get(key, -1))) & 0xFFFFFFFF
        elif kind < 9:
            digest = (digest * 31 + store.delete(key)) & 0xFFFFFFFF
        else:
            try:
                digest = (digest * 31 + store.incr(key)) & 0xFFFFFFFF
            except TypeError:
                digest = (digest * 31 + 7) & 0xFFFFFFFF
    seconds = time.perf_counter() - started
    return seconds, (digest * 31 + len(store)) & 0xFFFFFFFF


def perf() -> None:
    sys.path.insert(0, "/grader/reference")
    import reference_kvstore

    @check("performance")
    def _() -> str | None:
        from kvstore import KVStore

        ops = operations()
        learner_seconds, learner_digest = workload(KVStore, ops)
        reference_seconds, reference_digest = workload(reference_kvstore.KVStore, ops)
        if learner_digest != reference_digest:
            return ("1,000,000 mixed set/get/delete/incr calls over 100,000 keys with expiring ttls gave different answers "
                    "from the reference's (same calls, same clock): check expiry and incr under load")
        budget = 3 * reference_seconds + 2
        if learner_seconds > budget:
            return (f"1,000,000 mixed calls took {learner_seconds:.1f} s; the budget is {budget:.1f} s "
                    f"(3x the reference's {reference_seconds:.1f} s + 2 s, same sandbox): avoid work proportional to the store's size per call")
        return None


def main() -> None:
    {"functional": functional, "perf": perf}[sys.argv[1]]()
    report()


if __name__ == "__main__":
    main()
