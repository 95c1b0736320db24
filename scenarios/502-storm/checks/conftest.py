"""One load run through the load balancer, shared by the traffic checks."""

import pytest

ACCOUNTS = [f"acct_{number}" for number in range(1001, 1031)]
PATHS = [f"/api/v1/accounts/{account}/balance" for account in ACCOUNTS]


@pytest.fixture(scope="session")
def lb_load(instance, http_load):
    # bounded: 1,000 requests from 20 keep-alive clients, each pausing after every 25 requests
    # (idle connections are where keep-alive mismatches show), 25 s and 60 failures at most.
    # 1,000 is plenty: the fault fails every enterprise account (a third of the traffic) and
    # under load takes both backends out of rotation, so the verdict never hinges on a few requests.
    return http_load(
        instance.entrypoint_url, PATHS, total=1000, concurrency=20, timeout=3.0, deadline=25.0,
        idle_every=25, idle_seconds=0.1, max_failures=60,
    )


@pytest.fixture(scope="session")
def session_secret(inspect):
    env = dict(item.split("=", 1) for item in inspect("app-1")["Config"]["Env"])
    return env["SESSION_SECRET"].encode()


@pytest.fixture(scope="session")
def backends():
    return ("app-1", "app-2")
