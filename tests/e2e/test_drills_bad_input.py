"""The payments drills given a learner's app that crashes, hangs or floods the database (issue: "bad
input"): `breakfix check` ends within the scenario's check_timeout with failing conditions that say
what is wrong, never a traceback or a hung check, and `stop` leaves nothing behind.

Each drill gets the bad input that is worst for it: a payments API that cannot import (both
replicas' workers fail to boot), a rate limiter whose every decision blocks, a dispatcher that takes
every PostgreSQL connection the server allows. Each is deployed the way the brief tells the learner
to deploy a change."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest

from harness import catalog, state
from harness.runtime.docker import DockerRuntime

pytestmark = [pytest.mark.docker, pytest.mark.slow]

LIMITER_THAT_BLOCKS = '''

import time as _time


def _blocked(self, key):
    _time.sleep(3600)


Limiter.hit = _blocked
'''

DISPATCHER_THAT_HOARDS_CONNECTIONS = '''import time

import webhooks

held = []
while True:
    try:
        held.append(webhooks.connect())
    except Exception:
        time.sleep(0.05)
'''


@dataclass(frozen=True)
class BadInput:
    drill: str
    path: str  # in the workspace
    code: str
    appended: bool  # added to the file as shipped, or in its place
    deploy: list[str]  # argv: how the brief deploys a change
    failing: str  # a condition that must name the failure


CASES = [
    BadInput("idempotent-payments", "stack/app/payments.py", 'raise RuntimeError("a typo in the release")\n', False,
             ["bash", "-c", 'for r in api-1 api-2; do docker exec "bf-idempotent-payments-$r" sh -c \'kill -HUP "$(cat /tmp/gunicorn.pid)"\'; done'],
             "test_every_payment_gets_an_answer"),
    BadInput("distributed-rate-limit", "stack/app/limiter.py", LIMITER_THAT_BLOCKS, True,
             ["bash", "-c", "for r in api-1 api-2 api-3; do docker kill --signal HUP bf-distributed-rate-limit-$r >/dev/null; done"],
             "test_each_key_gets_the_limit_across_the_fleet"),
    BadInput("webhook-delivery", "stack/app/dispatcher.py", DISPATCHER_THAT_HOARDS_CONNECTIONS, False,
             ["docker", "exec", "bf-webhook-delivery-dispatcher", "sh", "-c", 'kill "$(cat /tmp/app.pid)"'],
             "test_every_event_reaches_every_endpoint_that_is_up"),
]


def breakfix(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "COLUMNS": "200"}, check=False)


@pytest.mark.parametrize("bad", [pytest.param(case, id=case.drill, marks=pytest.mark.uses(case.drill)) for case in CASES])
def test_a_broken_app_fails_clearly_within_the_check_timeout_and_stops_clean(bad: BadInput) -> None:
    entry = catalog.find(bad.drill)
    started = breakfix("start", bad.drill)
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        target = state.instance_dir(bad.drill) / "workspace" / bad.path
        target.write_text((target.read_text() if bad.appended else "") + bad.code)
        deployed = subprocess.run(bad.deploy, capture_output=True, text=True, timeout=60, check=False)
        assert deployed.returncode == 0, deployed.stderr

        began = time.monotonic()
        checked = breakfix("check", "--json", timeout=entry.manifest.check_timeout + 120)
        took = time.monotonic() - began
        output = checked.stdout + checked.stderr
        assert "Traceback" not in output, output
        assert checked.returncode == 1, output
        result = json.loads(checked.stdout)
        assert result["passed"] is False
        unpassed = {c["id"]: c["message"] for c in result["conditions"] if c["outcome"] != "passed"}
        assert bad.failing in unpassed, output
        assert all(message.strip() for message in unpassed.values()), unpassed
        # the settle bound (20 s) and start-up of the grader on top of the run's own limit
        assert took < entry.manifest.check_timeout + 60, f"check took {took:.0f} s"
    finally:
        stopped = breakfix("stop")
    assert stopped.returncode == 0 and "nothing left behind" in stopped.stdout, stopped.stdout + stopped.stderr
    assert DockerRuntime(bad.drill).leftovers() == []
