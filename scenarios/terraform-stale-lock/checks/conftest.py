"""What every check of this scenario shares: the workspaces and their state right after provisioning."""

import pytest


@pytest.fixture(scope="session")
def workspaces():
    return ("prod", "staging")


@pytest.fixture(scope="session")
def colleague_run(terraform):
    """The colleague's apply: the run named by the terraform-running-apply fault in scenario.yaml."""
    return terraform.background_run("colleague-staging")


@pytest.fixture(scope="session")
def baseline(terraform):
    return terraform.baseline()
