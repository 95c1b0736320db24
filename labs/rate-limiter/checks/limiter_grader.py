"""Runs INSIDE the sandbox: calls the learner's middleware in-process, from many threads at once and
over a long stream of short-lived keys, and prints one JSON line of findings (breakfix_findings).

usage: python3 /grader/limiter_grader.py
The HTTP checks (serve_app.py) judge answers; these judge what HTTP cannot show: races the GIL
would hide, and memory held for keys that stopped sending.
"""

from __future__ import annotations

import functools
import gc
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from typing import Any
from wsgiref.util import setup_testing_defaults

from breakfix_findings import check, report

RACE_ROUNDS = 15
RACE_THREADS = 40
LIMIT = 5
WINDOW = 60


class Clock:
    """The middleware's clock; only the grader moves it. `switching` lets other threads run on every read."""

    def __init__(self, now: float, switching: bool = False) -> None:
        self.now = now
        self.switching = switching

    def __call__(self) -> float:
        if self.switching:
            time.sleep(0)
        return self.now


class SwitchingInt(int):
    """The limit, equal to its value, whose every comparison lets other threads run: a middleware
    that compares its count with the limit and then records the request without a lock loses the
    race every time (under the GIL it otherwise fails only once in a long while)."""

    def __lt__(self, other: object) -> bool:
        time.sleep(0)
        return int.__lt__(self, other)  # type: ignore[operator]

    def __le__(self, other: object) -> bool:
        time.sleep(0)
        return int.__le__(self, other)  # type: ignore[operator]

    def __gt__(self, other: object) -> bool:
        time.sleep(0)
        return int.__gt__(self, other)  # type: ignore[operator]

    def __ge__(self, other: object) -> bool:
        time.sleep(0)
        return int.__ge__(self, other)  # type: ignore[operator]


class App:
    """The protected application: counts the requests that reach it."""

    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self.lock:
            self.calls += 1
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]


def middleware(limit: int, clock: Clock) -> tuple[Any, App]:
    from ratelimit import RateLimitMiddleware  # the learner's module, from /work

    app = App()
    return RateLimitMiddleware(app, limit=limit, window=WINDOW, clock=clock), app


def call(limiter: Any, key: str) -> str:
    """One request through the middleware; its status code ('200', '429', ...)."""
    environ: dict[str, Any] = {}
    setup_testing_defaults(environ)
    environ["HTTP_X_API_KEY"] = key
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> Callable[[bytes], None]:
        statuses.append(status)
        return lambda data: None

    body = limiter(environ, start_response)
    for _ in body:  # a WSGI body is only done once consumed and closed
        pass
    close = getattr(body, "close", None)
    if close:
        close()
    return statuses[0][:3] if statuses else "no start_response"


def together(count: int, target: Callable[[], Any]) -> list[Any]:
    """`count` threads released at once by a barrier, switching as often as Python can; their results."""
    results: list[Any] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def body() -> None:
        try:
            barrier.wait()
            results.append(target())
        except BaseException as exc:  # noqa: BLE001 -- reported as the finding
            errors.append(exc)

    threads = [threading.Thread(target=body, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    if any(thread.is_alive() for thread in threads):
        raise TimeoutError("threads still inside the middleware after 30 s: a deadlock?")
    if errors:
        raise errors[0]
    return results


def main() -> None:
    @check("race")
    def _() -> str | None:
        previous = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)
        try:
            for round_number in range(1, RACE_ROUNDS + 1):
                limiter, app = middleware(SwitchingInt(LIMIT), Clock(60_000.0 * round_number, switching=True))
                key = f"sk_race_{round_number}"
                statuses = together(RACE_THREADS, functools.partial(call, limiter, key))
                admitted = statuses.count("200")
                if admitted != LIMIT or app.calls != LIMIT:
                    return (f"round {round_number} of {RACE_ROUNDS}: {RACE_THREADS} threads released together each sent one request "
                            f"of key {key} (limit {LIMIT}): {admitted} were admitted and {app.calls} reached the app, expected "
                            f"exactly {LIMIT} (answers: {sorted(set(statuses))}); counting and recording a request must be one atomic step")
        finally:
            sys.setswitchinterval(previous)
        return None

    @check("idle_keys")
    def _() -> str | None:
        clock = Clock(1_000.0)
        limiter, _ = middleware(LIMIT, clock)
        gc.collect()
        tracemalloc.start()
        held: list[int] = []
        for window in range(IDLE_WINDOWS):
            for number in range(KEYS_PER_WINDOW):
                clock.now = 1_000.0 + window * WINDOW + number * (WINDOW - 1) / KEYS_PER_WINDOW
                status = call(limiter, f"sk_idle_{window}_{number}")
                if status != "200":
                    tracemalloc.stop()
                    return f"the first request of a new key (sk_idle_{window}_{number}) got {status}, expected 200"
            gc.collect()
            held.append(tracemalloc.get_traced_memory()[0])
        tracemalloc.stop()
        early, late = max(held[5:15]), max(held[-10:])
        if late > 1.5 * early + 0.5 * 2**20:
            return (f"{KEYS_PER_WINDOW:,} new keys sent one request each in each of {IDLE_WINDOWS} consecutive {WINDOW} s windows "
                    f"(none sent again): the memory held grew from {early / 2**20:.1f} MB (windows 6-15) to {late / 2**20:.1f} MB "
                    f"(the last 10 windows); allowed 1.5x + 0.5 MB: forget keys whose requests have all left the window")
        return None

    report()


IDLE_WINDOWS = 40
KEYS_PER_WINDOW = 1_000


if __name__ == "__main__":
    main()
