"""Runs INSIDE the sandbox: feeds alert streams to the learner's Deduplicator and reports findings.

usage: python3 /grader/dedup_grader.py functional
       python3 /grader/dedup_grader.py stream ALERTS      (needs /grader/reference/reference_dedup.py)
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from breakfix_findings import check, expect, first, report

Alert = dict[str, Any]


def alert(ts: float, source: str = "api", name: str = "HighLatency", **labels: str) -> Alert:
    return {"ts": ts, "source": source, "name": name, "labels": labels}


def new() -> Any:
    from dedup import Deduplicator  # the learner's module, from /work

    return Deduplicator(window=300.0, lateness=60.0)


def run(alerts: list[Alert]) -> tuple[list[Alert], Any]:
    """Push everything, flush, and return all emitted alerts in order (and the deduplicator)."""
    dedup = new()
    emitted: list[Alert] = []
    for item in alerts:
        emitted += dedup.push(item)
    emitted += dedup.flush()
    return emitted, dedup


def times(alerts: list[Alert]) -> list[float]:
    return [item["ts"] for item in alerts]


def functional() -> None:
    @check("window")
    def _() -> str | None:
        sent = [alert(ts) for ts in (0, 100, 299.9, 300, 450, 600)]
        emitted, _ = run(sent)
        return expect("one alert key at ts 0, 100, 299.9, 300, 450, 600 (window 300 s): the ts of the notifications",
                      times(emitted), [0, 300, 600])

    @check("keys")
    def _() -> str | None:
        sent = [alert(0, region="eu", tier="web"), {"ts": 10, "source": "api", "name": "HighLatency", "labels": {"tier": "web", "region": "eu"}},
                alert(20, region="us", tier="web"), alert(30, name="ErrorRate", region="eu", tier="web"),
                alert(40, source="db", region="eu", tier="web"), {"ts": 50, "source": "q", "name": "Lag"},
                {"ts": 60, "source": "q", "name": "Lag", "labels": {}}]
        emitted, _ = run(sent)
        return expect("alerts differing in label order (ts 10), label value (20), name (30), source (40), and missing vs "
                      "empty labels (50, 60): the ts of the notifications", times(emitted), [0, 20, 30, 40, 50])

    @check("out_of_order")
    def _() -> str | None:
        emitted, _ = run([alert(100), alert(130), alert(90)])
        tie, _ = run([{**alert(500), "id": 1}, {**alert(500), "id": 2}])
        return first(
            expect("one key arriving as ts 100, 130, then 90 (30 s late, within the 60 s tolerance): event-time order "
                   "makes 90 the notification", times(emitted), [90]),
            expect("two alerts of one key with the same ts 500: the first to arrive is the notification (its id)",
                   [item.get("id") for item in tie], [1]),
        )

    @check("late")
    def _() -> str | None:
        emitted, dedup = run([alert(200, source="a"), alert(139, source="b"), alert(140, source="c")])
        return first(
            expect("after ts 200 (watermark 140): ts 139 is dropped as too late, ts 140 is not; notifications",
                   times(emitted), [140, 200]),
            expect("dropped_late after that", getattr(dedup, "dropped_late", None), 1),
        )

    @check("release_timing")
    def _() -> str | None:
        dedup = new()
        returned = [times(dedup.push(alert(ts, source=f"s{ts}"))) for ts in (0, 60, 61)]
        return first(
            expect("push() of distinct alerts at ts 0, 60, 61 returns what became final (ts < max ts - 60)",
                   returned, [[], [], [0]]),
            expect("then flush() returns the rest in event-time order", times(dedup.flush()), [60, 61]),
        )

    @check("passthrough")
    def _() -> str | None:
        sent = {**alert(5, region="eu"), "summary": "p99 latency 2.3 s", "value": 2.3}
        emitted, _ = run([dict(sent)])
        return expect("an alert with extra fields comes out unchanged", emitted, [sent])

    @check("malformed")
    def _() -> str | None:
        dedup = new()
        seeded = dedup.push(alert(1000, source="seed"))  # watermark 940 from here on
        problems = []
        for item in malformed_alerts():
            try:
                dedup.push(item)
                problems.append(f"push({item!r}): expected ValueError, nothing raised")
            except ValueError:
                pass
        emitted = seeded + dedup.push(alert(970)) + dedup.push(alert(2000)) + dedup.flush()
        problems.append(expect(f"after alert ts 1000 (watermark 940), {len(malformed_alerts())} malformed alerts (every kind of rule 6, "
                               "those with a ts once with ts 1e9 and once with ts 10), then valid "
                               "alerts at ts 970 and 2000: the ts of the notifications (a rejected alert must not move the watermark, "
                               "be decided or be notified)", times(emitted), [970, 1000, 2000]))
        problems.append(expect("dropped_late after that (a malformed alert is not counted as late, whatever its ts)",
                               getattr(dedup, "dropped_late", None), 0))
        return first(*problems)

    @check("end_of_stream")
    def _() -> str | None:
        dedup = new()
        problems = [expect("push(ts 0) then flush(): the notifications", times(dedup.push(alert(0)) + dedup.flush()), [0])]
        try:
            dedup.push(alert(1000))
            problems.append("push() after flush(): expected RuntimeError (the stream has ended), nothing raised")
        except RuntimeError:
            pass
        problems.append(expect("a second flush() after that", dedup.flush(), []))
        return first(*problems)


def malformed_alerts() -> list[Any]:
    """One alert per way of being malformed; each that has a ts comes with a far-future ts (moving the
    watermark would drop every later alert) and a ts below the watermark (counting it as late is wrong)."""
    shapes: list[Any] = [["not", "a", "dict"], {"source": "api", "name": "X"}]
    for ts in (1e9, 10):
        shapes += [{"ts": ts, "source": "", "name": "X"}, {"ts": ts, "name": "X"}, {"ts": ts, "source": 5, "name": "X"},
                   {"ts": ts, "source": "api"}, {"ts": ts, "source": "api", "name": ""},
                   {"ts": ts, "source": "api", "name": "X", "labels": ["a"]}, {"ts": ts, "source": "api", "name": "X", "labels": {"a": 1}},
                   {"ts": ts, "source": "api", "name": "X", "labels": {1: "a"}}, {"ts": ts, "source": "api", "name": "X", "labels": None}]
    shapes += [alert("100"), alert(True), alert(float("nan")), alert(float("inf")), alert(-float("inf")), alert(None)]  # type: ignore[arg-type]
    return shapes


def stream(count: int, seed: int = 6) -> Iterator[Alert]:
    """A long, deterministic stream: 10 alerts per second of event time, up to 50 s out of order,
    1 in 200 hopelessly late; a new host every 0.4 s (keys churn) and 50 recurring pool alerts."""
    rng = random.Random(seed)
    for index in range(count):
        now = index * 0.1
        ts = now - rng.uniform(70, 200) if rng.random() < 0.005 else now - rng.uniform(0, 50)
        if rng.random() < 0.2:
            yield {"ts": ts, "source": "lb", "name": "5xx", "labels": {"pool": f"p{rng.randrange(50)}"}, "seq": index}
        else:
            yield {"ts": ts, "source": "node", "name": "DiskFull", "labels": {"host": f"h{index // 4}", "dc": "eu1"}, "seq": index}


def rss() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096


def consume(cls: type, count: int) -> tuple[float, list[int], int, int]:
    """(seconds, seq numbers of the notifications, dropped_late, RSS growth from 25% to the end)."""
    dedup = cls(window=300.0, lateness=60.0)
    seqs: list[int] = []
    quarter = 0
    started = time.perf_counter()
    for index, item in enumerate(stream(count)):
        if index == count // 4:
            quarter = rss()
        seqs += [emitted["seq"] for emitted in dedup.push(item)]
    growth = rss() - quarter
    seqs += [emitted["seq"] for emitted in dedup.flush()]
    return time.perf_counter() - started, seqs, dedup.dropped_late, growth


def long_stream(count: int) -> None:
    from dedup import Deduplicator

    sys.path.insert(0, "/grader/reference")
    import reference_dedup

    outcome: dict[str, Any] = {}

    @check("stream_answers")
    def _() -> str | None:
        seconds, seqs, dropped, growth = consume(Deduplicator, count)
        outcome.update(seconds=seconds, growth=growth)
        outcome["reference"], want, want_dropped, _ = consume(reference_dedup.Deduplicator, count)
        if dropped != want_dropped:
            return f"a stream of {count:,} alerts: dropped_late is {dropped}, expected {want_dropped}"
        if seqs != want:
            at = next((i for i, (a, b) in enumerate(zip(seqs, want, strict=False)) if a != b), min(len(seqs), len(want)))
            return (f"a stream of {count:,} alerts (10/s of event time, up to 50 s out of order): {len(seqs):,} notifications, "
                    f"expected {len(want):,}; the first difference is notification #{at + 1}")
        return None

    @check("stream_memory")
    def _() -> str | None:
        if "growth" not in outcome:
            return "not measured: the stream did not complete"
        growth = outcome["growth"]
        if growth > 8 * 2**20:
            return (f"a stream of {count:,} alerts with ever-new hosts: memory grew by {growth / 2**20:.0f} MB between the first "
                    f"quarter and the end (allowed: 8 MB): forget keys the window can no longer reach")
        return None

    @check("stream_time")
    def _() -> str | None:
        if "reference" not in outcome:
            return "not measured: the stream did not complete"
        budget = 3 * outcome["reference"] + 2
        if outcome["seconds"] > budget:
            return (f"a stream of {count:,} alerts took {outcome['seconds']:.1f} s; the budget is {budget:.1f} s "
                    f"(3x the reference's {outcome['reference']:.1f} s + 2 s, same sandbox)")
        return None


def main() -> None:
    if sys.argv[1] == "functional":
        functional()
    else:
        long_stream(int(sys.argv[2]))
    report()


if __name__ == "__main__":
    main()
