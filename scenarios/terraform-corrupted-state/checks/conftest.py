"""The state every check compares against: what the last good apply wrote (recorded at provision)."""

import pytest


@pytest.fixture(scope="session")
def good(terraform):
    return terraform.baseline()["prod"]


@pytest.fixture(scope="session")
def current(terraform):
    return terraform.state("prod")
