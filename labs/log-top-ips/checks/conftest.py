"""The grader of log-top-ips: small logs with known answers, one large generated log, the runs of
the learner's program on them in the sandbox, and the reference's run for the time budget.

The large log is generated deterministically (seeded) and cached under the user's state dir.
Its size comes from BREAKFIX_LAB_SCALE: unset -> 160 MB, enough to tell streaming from reading
it whole (the peak-memory budget is well under the file's size) within CI's time; `full` ->
1.15 GB (more than 1 GiB), the interview's ">= 1 GB", for benchmarks and for learners who want the real thing;
a number -> that many MB.
"""

from __future__ import annotations

import ipaddress
import os
import random
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from harness.checks import BreakfixError, CaseResult, InstanceContext, RunResult, Sandbox, cached_input

LAB = "log-top-ips"
PROGRAM = "/work/top_ips.py"
TOP = 10
PEAK_BUDGET = 100 * 2**20  # bytes of RSS; a streaming solution holds a counter of ~60k addresses
PERF_MEMORY = "512m"  # room above the budget, so a read-it-all run is measured rather than killed
GENERATOR_VERSION = 1
SUFFIX = ' - - [10/Oct/2026:13:55:36 +0000] "GET /index.html HTTP/1.1" 200 2326 "-" "curl/8.5.0"'

# (canonical address, fraction of the lines, spellings used in the log); equal fractions are the
# ties the order rule decides, and the 10th/11th places tie on purpose
HEAVY: list[tuple[str, float, tuple[str, ...]]] = [
    ("203.0.113.7", 0.020, ("203.0.113.7",)),
    ("198.51.100.23", 0.016, ("198.51.100.23",)),
    ("2001:db8:85a3::8a2e:370:7334", 0.016, ("2001:db8:85a3::8a2e:370:7334", "2001:0DB8:85A3:0000:0000:8A2E:0370:7334")),
    ("2001:db8::1", 0.014, ("2001:db8::1", "2001:DB8::1", "2001:db8:0:0:0:0:0:1", "2001:0db8:0000:0000:0000:0000:0000:0001")),
    ("9.9.9.9", 0.012, ("9.9.9.9",)),
    ("10.0.0.1", 0.012, ("10.0.0.1",)),
    ("192.0.2.200", 0.010, ("192.0.2.200",)),
    ("::1", 0.009, ("::1", "0:0:0:0:0:0:0:1")),
    ("fe80::1", 0.008, ("fe80::1", "FE80::0001")),
    ("2001:db8::9", 0.006, ("2001:db8::9", "2001:db8::0009")),
    ("2001:db8::10", 0.006, ("2001:db8::10",)),
    ("172.16.5.4", 0.005, ("172.16.5.4",)),
]
# lines that must not count, many starting with a busy address
MALFORMED = [
    "",
    "- - - [10/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1\" 200 1",
    "example.com" + SUFFIX,
    "256.10.10.10" + SUFFIX,
    "010.0.0.1" + SUFFIX,
    "203.0.113.7 - - [10/Oct/2026:13:55",
    "fe80::1%eth0" + SUFFIX,
    "203.0.113.7:443" + SUFFIX,
    '203.0.113.7 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1"',
    '2001:db8::1 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" OK 12',
    "2001:db8:::1" + SUFFIX,
    "203.0.113.7\t-\t-" + SUFFIX,
    "   " + SUFFIX,
]
BINARY_GARBAGE = b"\xff\xfe\x00\x9c garbage \x80\x81\n"


def scale_mb() -> int:
    value = os.environ.get("BREAKFIX_LAB_SCALE", "").strip().lower()
    if not value:
        return 160
    if value == "full":
        return 1200  # MB asked for; lines average ~143 bytes, so the file comes out ~1.15 GB
    if value.isdigit() and int(value) >= 10:
        return int(value)
    raise BreakfixError(f"BREAKFIX_LAB_SCALE={value!r}: use `full` or a size in MB (>= 10)")


# -- the large log ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BigLog:
    path: Path
    top: list[str]
    malformed: int

    @property
    def size_mb(self) -> float:
        return self.path.stat().st_size / 1e6


def generate(path: Path, megabytes: int, seed: int = 1) -> tuple[list[str], int]:
    """Write the log in shuffled blocks whose make-up is fixed in advance, so every busy
    address's count is exact and no background address comes anywhere near them."""
    rng = random.Random(seed)
    v4 = [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(50_000)]
    v6 = [str(ipaddress.IPv6Address((0x2001_0DB8 << 96) | rng.getrandbits(64))) for _ in range(10_000)]
    background = v4 + v6 + [address.upper() for address in v6[:2000]]
    verbs = ["GET", "POST", "PUT", "HEAD"]
    suffixes = [
        f' - {rng.choice(["-", "alice", "bob"])} [{rng.randint(1, 28):02d}/Oct/2026:{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:'
        f'{rng.randint(0, 59):02d} +0000] "{rng.choice(verbs)} /api/v1/items/{rng.randint(1, 99999)} HTTP/1.1" '
        f'{rng.choice([200, 200, 200, 201, 301, 404, 500])} {rng.choice([str(rng.randint(0, 99999)), "-"])} "-" '
        f'"Mozilla/5.0 (X11; Linux x86_64) breakfix/{rng.randint(1, 9)}"{rng.choice(["", chr(13)])}\n'
        for _ in range(4000)
    ]
    lines = megabytes * 1_000_000 // 150
    blocks = max(1, lines // 20_000)
    heavy_totals = [int(fraction * lines) for _, fraction, _ in HEAVY]
    malformed_total = int(0.03 * lines)
    with path.open("wb") as out:
        for block in range(blocks):
            def share(total: int, b: int = block) -> int:
                return total * (b + 1) // blocks - total * b // blocks

            chunk: list[bytes] = []
            for (_, _, spellings), total in zip(HEAVY, heavy_totals, strict=True):
                chunk += [(rng.choice(spellings) + rng.choice(suffixes)).encode() for _ in range(share(total))]
            bad = share(malformed_total)
            chunk += [(rng.choice(MALFORMED) + "\n").encode() for _ in range(bad - bad // 10)]
            chunk += [BINARY_GARBAGE] * (bad // 10)
            rest = lines // blocks - len(chunk)
            chunk += [(address + suffix).encode() for address, suffix in zip(rng.choices(background, k=rest), rng.choices(suffixes, k=rest), strict=True)]
            rng.shuffle(chunk)
            out.write(b"".join(chunk))
        out.write(b"A" * 3_000_000 + b"\n")  # one 3 MB line: malformed, and no reason to hold more than a line
    ranked = sorted(zip(HEAVY, heavy_totals, strict=True), key=lambda item: (-item[1], ipaddress.ip_address(item[0][0]).version, int(ipaddress.ip_address(item[0][0]))))
    return [f"{total} {canonical}" for (canonical, _, _), total in ranked[:TOP]], malformed_total + 1


def big_log() -> BigLog:
    megabytes = scale_mb()
    name = f"access-{megabytes}mb-v{GENERATOR_VERSION}"
    answer: dict[str, object] = {}

    def build(partial: Path) -> None:
        top, malformed = generate(partial, megabytes)
        answer.update(top=top, malformed=malformed)

    path = cached_input(LAB, f"{name}.log", build)

    def build_answer(partial: Path) -> None:
        if not answer:  # the log was cached but its answer was not: regenerate to a scratch file
            scratch = partial.with_suffix(".scratch")
            try:
                top, malformed = generate(scratch, megabytes)
            finally:
                scratch.unlink(missing_ok=True)
            answer.update(top=top, malformed=malformed)
        partial.write_text("\n".join([f"malformed: {answer['malformed']}", *answer["top"]]) + "\n")  # type: ignore[list-item]

    first, *top = cached_input(LAB, f"{name}.answer", build_answer).read_text().splitlines()
    return BigLog(path, top, int(first.removeprefix("malformed: ")))


# -- small logs with known answers ------------------------------------------------------------------


def line(address: str) -> str:
    return address + SUFFIX + "\n"


def line_with(address: str, tail: str) -> str:
    """A line whose STATUS, SIZE and the rest are `tail`."""
    return f'{address} - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" {tail}\n'


FIELDS_VALID = ["200 -", "304 0", "404 123 \"-\" \"curl/8.5.0\"", "599 12 x"]
FIELDS_MALFORMED = [
    "2000 12", "20 12", "2x0 12", "200 12a", '200 12"-" "curl/8.5.0"', "200 ", "200 -1", "200 +12", "200 1_000",
    "200  12", "200 --", "\u0662\u0660\u0660 12", "200 \u0661\u0662", "200\t12",
]


SMALL: dict[str, tuple[bytes, list[str], int]] = {
    # name: (log, expected stdout lines, expected malformed count)
    "basic": (
        "".join(line(a) for a in ["192.0.2.1"] * 3 + ["192.0.2.2"] * 5 + ["198.51.100.7"] * 1).encode(),
        ["5 192.0.2.2", "3 192.0.2.1", "1 198.51.100.7"],
        0,
    ),
    "malformed-kinds": (
        ("".join(line("192.0.2.1") for _ in range(2)) + "\n".join(MALFORMED) + "\n").encode() + BINARY_GARBAGE,
        ["2 192.0.2.1"],
        len(MALFORMED) + 1,
    ),
    "ipv6-spellings": (
        "".join(line(a) for a in ["2001:db8::1", "2001:DB8::1", "2001:db8:0:0:0:0:0:1", "2001:0db8:0000:0000:0000:0000:0000:0001", "fe80::1"]).encode(),
        ["4 2001:db8::1", "1 fe80::1"],
        0,
    ),
    "ties": (
        "".join(line(a) for a in ["2001:db8::10", "2001:db8::9", "10.0.0.1", "9.9.9.9", "2001:db8::9", "2001:db8::10", "10.0.0.1", "9.9.9.9"]).encode(),
        ["2 9.9.9.9", "2 10.0.0.1", "2 2001:db8::9", "2 2001:db8::10"],
        0,
    ),
    "top-ten-of-twelve": (
        "".join(line(f"192.0.2.{n}") * (n if n > 2 else 3) for n in range(1, 13)).encode(),
        [f"{n} 192.0.2.{n}" for n in range(12, 4, -1)] + ["4 192.0.2.4", "3 192.0.2.1"],
        0,
    ),
    "crlf-and-no-final-newline": (
        (line("192.0.2.1").replace("\n", "\r\n") * 2 + line("192.0.2.2").rstrip("\n")).encode(),
        ["2 192.0.2.1", "1 192.0.2.2"],
        0,
    ),
    "empty-file": (b"", [], 0),
    # STATUS is exactly 3 ASCII digits, SIZE ASCII digits or `-`, then the end or a space: what a
    # `\d+`, an int() of the field or a str regex (whose \d matches any script's digits) lets through
    "field-formats": (
        "".join(line_with("192.0.2.1", tail) for tail in FIELDS_VALID).encode()
        + "".join(line_with("192.0.2.9", tail) for tail in FIELDS_MALFORMED).encode()
        + b'192.0.2.9  - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 200 12\n',  # two spaces after the address
        [f"{len(FIELDS_VALID)} 192.0.2.1"],
        len(FIELDS_MALFORMED) + 1,
    ),
}
# why a file cannot be read -> the path the program is given (the small fixture mounts what makes it so)
UNREADABLE = {
    "missing-file": "/grader/no-such.log",
    "directory": "/grader/logs.d",
    "permission-denied": "/grader/locked.log",
}


@dataclass(frozen=True)
class BigRun:
    """The learner's run on the large log and, when its answer and memory are right, the reference's run
    for the time budget; or, while small logs still fail, why it was not run."""

    log: BigLog | None
    result: RunResult | None
    reference: RunResult | None
    withheld: str | None = None

    @property
    def time_budget(self) -> float:
        return 3 * (self.reference.seconds if self.reference else 0) + 10


@pytest.fixture(scope="session")
def small(sandbox: Sandbox) -> dict[str, CaseResult]:
    files: dict[str, bytes | Path] = {f"{name}.log": content for name, (content, _, _) in SMALL.items()}
    cases = {name: ["python3", PROGRAM, f"/grader/{name}.log"] for name in SMALL}
    cases |= {name: ["python3", PROGRAM, path] for name, path in UNREADABLE.items()}
    with tempfile.TemporaryDirectory(prefix="breakfix-top-ips-") as scratch:
        # a file nobody may read: the sandbox runs the program unprivileged, without CAP_DAC_OVERRIDE
        locked = Path(scratch, "locked.log")
        locked.write_bytes(line("192.0.2.1").encode())
        locked.chmod(0)
        files["locked.log"] = locked
        files["logs.d/access.log"] = line("192.0.2.1").encode()  # mounting a file inside makes logs.d a directory
        batch, results = sandbox.run_batch(cases, files=files)
    assert results, f"your program could not be run on the small logs: {batch.describe()}"
    return results


def small_failures(small: dict[str, CaseResult]) -> list[str]:
    return [name for name, (_, expected, _) in SMALL.items() if small[name].exit_code != 0 or small[name].stdout.splitlines() != expected]


@pytest.fixture(scope="session")
def big(sandbox: Sandbox, instance: InstanceContext, small: dict[str, CaseResult]) -> BigRun:
    failing = small_failures(small)
    if failing:
        return BigRun(None, None, None, f"not run until the small logs pass (failing: {', '.join(failing)})")
    log = big_log()
    files = {"access.log": log.path}
    result = sandbox.run(["python3", PROGRAM, "/grader/access.log"], files=files, memory=PERF_MEMORY)
    reference = None
    right = result.ok and result.exit_code == 0 and result.stdout.splitlines() == log.top
    if right and (result.peak_memory_bytes or 0) <= PEAK_BUDGET:  # only a right, streaming run is worth timing
        files_with_reference = {**files, "reference.py": instance.entry.directory / "solution" / "top_ips.py"}
        reference = sandbox.run(["python3", "/grader/reference.py", "/grader/access.log"], files=files_with_reference, memory=PERF_MEMORY)
        assert reference.ok and reference.exit_code == 0, f"grader error: the reference failed: {reference.describe()}"
    return BigRun(log, result, reference)


@pytest.fixture(scope="session")
def grader() -> ModuleType:
    """This module: tests reach its helpers through a fixture (checks are not an importable package)."""
    return sys.modules[__name__]
