"""One grading run: the mock payments API as a grader service, the learner's fetch_all driven
once per situation in the sandbox, then the mock's own record of what it received."""

from __future__ import annotations

import json
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HERE = Path(__file__).parent
PORT = 8080
OUTCOMES_MARKER = "@@fetch-outcomes "  # the line drive_fetch.py prints its results on
# what drive_fetch.py passes to fetch_all, per call: base_delay, max_delay
BACKOFF = {"sk_test_main": (0.2, 2.0), "sk_test_exhaust": (0.2, 0.5), "sk_test_backoff": (0.2, 8.0), "sk_test_cap": (0.2, 0.3)}


@dataclass(frozen=True)
class Attempt:
    status: int
    start: float
    end: float


@dataclass
class FetchRun:
    """What the learner's code returned and what the server saw, for the checks to compare."""

    outcomes: dict[str, dict]
    problem: str  # why a call has no outcome (the run crashed, timed out, ...)
    dataset: dict[str, list[dict]]
    log: list[dict]
    peak_in_flight: dict[str, int]
    backoff: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(BACKOFF))

    def outcome(self, call: str) -> dict:
        assert call in self.outcomes, f"the {call!r} call of fetch_all produced no outcome: {self.problem}"
        return self.outcomes[call]

    def result(self, call: str) -> dict:
        outcome = self.outcome(call)
        error = outcome.get("error")
        assert error is None, f"fetch_all raised {error['type']}: {error['text']}" if error else ""
        return outcome["result"]

    def requests(self, key: str, resource: str | None = None) -> list[dict]:
        return [r for r in self.log if r["key"] == key and (resource is None or r["path"] == f"/v1/{resource}")]

    def chains(self, key: str) -> dict[tuple[str, str], list[Attempt]]:
        """Every attempt at each page (resource, cursor), in order of arrival."""
        found: dict[tuple[str, str], list[Attempt]] = defaultdict(list)
        for record in sorted(self.requests(key), key=lambda r: r["start"]):
            cursor = dict(part.split("=", 1) for part in record["query"].split("&") if "=" in part).get("starting_after", "")
            found[(record["path"].removeprefix("/v1/"), cursor)].append(Attempt(record["status"], record["start"], record["end"]))
        return dict(found)


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(scope="session")
def fetch_run(sandbox) -> FetchRun:
    network = sandbox.network()
    mock = {"mock_payments.py": HERE / "mock_payments.py"}
    with sandbox.service(["python3", "/grader/mock_payments.py", "--port", str(PORT)], name="payments", network=network,
                         port=PORT, files=mock, ready_path="/__grader/dataset", timeout=300) as payments:
        run = sandbox.run(["python3", "/grader/drive_fetch.py", f"http://payments:{PORT}"], network=network,
                          files={"drive_fetch.py": HERE / "drive_fetch.py"}, timeout=90)
        outcomes = {}
        for line in run.stdout.splitlines():
            if line.startswith(OUTCOMES_MARKER):
                outcomes = {item["call"]: item for item in json.loads(line.removeprefix(OUTCOMES_MARKER))}
        records = _get_json(payments.url + "/__grader/log")
        dataset = _get_json(payments.url + "/__grader/dataset")
    return FetchRun(outcomes, run.describe(), dataset, records["requests"], records["peak_in_flight"])
