"""One load run through the load balancer, shared by the traffic checks."""

import pytest

ACCOUNTS = [f"acct_{number}" for number in range(1001, 1031)]
PATHS = [f"/api/v1/accounts/{account}/balance" for account in ACCOUNTS]


@pytest.fixture(scope="session")
def lb_load(lab, http_load):
    # bounded: 1,500 requests, 20 clients, idle gaps to exercise connection reuse, 25 s at most
    return http_load(
        lab.entrypoint_url, PATHS, total=1500, concurrency=20, timeout=3.0, deadline=25.0,
        idle_every=75, idle_seconds=0.2, max_failures=60,
    )


@pytest.fixture(scope="session")
def session_secret(inspect):
    env = dict(item.split("=", 1) for item in inspect("app-1")["Config"]["Env"])
    return env["SESSION_SECRET"].encode()


@pytest.fixture(scope="session")
def backends():
    return ("app-1", "app-2")
