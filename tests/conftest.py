"""Shared test setup: an isolated state dir per test, skipping Docker tests with a reason, and keeping
tests that provision the same fixed resources on one pytest-xdist worker."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.catalog import Entry

# rich fixes a console's width from COLUMNS when the console is made (harness.cli's, when a test module
# imports it, after this file) and reads it on each print only where it was unset: a COLUMNS the developer
# exported would override every test's own
os.environ.pop("COLUMNS", None)

# A suite started in the background by a non-interactive shell inherits SIGINT ignored, and an ignored
# signal stays ignored across exec: every `breakfix` the Ctrl-C tests start would shrug off their SIGINT.
# A handled signal is reset to the default on exec, so the children see what a terminal gives them.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def docker_engine_problem() -> str | None:
    """None when an engine answers; otherwise why not (the skip reason)."""
    try:
        from harness.runtime.docker import connect

        connect(timeout=5)
    except Exception as exc:  # any failure to reach the engine means: skip, saying why
        return str(exc)
    return None


_ENGINE_PROBLEM: list[str | None] = []


@pytest.hookimpl(tryfirst=True)  # before xdist's worker reads the xdist_group marks into node ids (its hook is untagged)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    group_by_shared_resources(items)
    docker_items = [item for item in items if item.get_closest_marker("docker")]
    if not docker_items:
        return
    if not _ENGINE_PROBLEM:
        _ENGINE_PROBLEM.append(docker_engine_problem())
    if _ENGINE_PROBLEM[0]:
        skip = pytest.mark.skip(reason=f"no Docker engine: {_ENGINE_PROBLEM[0]}")
        for item in docker_items:
            item.add_marker(skip)


def group_by_shared_resources(items: list[pytest.Item]) -> None:
    """An entry's containers, names and published ports are fixed, and the AWS emulator is one per machine,
    so two tests provisioning the same one at once would tear down each other's stack. Tests that share a
    resource (`@pytest.mark.uses(...)`), directly or through a third test, get one xdist_group and so run one
    after another on one worker under `--dist loadgroup`; a Docker test that declares nothing is kept with its
    module, the safe default; everything else spreads freely over the workers."""
    parent: dict[str, str] = {}

    def root(resource: str) -> str:
        while parent.setdefault(resource, resource) != resource:
            resource = parent[resource]
        return resource

    claims: list[tuple[pytest.Item, list[str]]] = []
    for item in items:
        resources = [str(name) for marker in item.iter_markers("uses") for name in marker.args]
        if not resources and item.get_closest_marker("docker"):
            resources = [f"module {item.module.__name__ if item.module else item.nodeid}"]
        if resources:
            for other in resources[1:]:
                parent[root(other)] = root(resources[0])
            claims.append((item, resources))
    for item, resources in claims:
        item.add_marker(pytest.mark.xdist_group(root(resources[0])))


@pytest.fixture(autouse=True)
def isolated_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test gets its own breakfix state dir: tests never see (or clobber) a user's instance."""
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("BREAKFIX_STATE_DIR", str(state))
    yield state


@pytest.fixture
def rejected_fakes() -> Callable[[Entry], dict[str, list[str]]]:
    """rejected_fakes(entry) runs `verify --fakes`, requires every declared fake to have been applied
    and rejected, and returns the checks that failed for each one."""
    from harness.lifecycle import Lifecycle

    def run(entry: Entry) -> dict[str, list[str]]:
        rejected = dict(Lifecycle(entry).verify(fakes=True).fakes)
        assert set(rejected) == {fake.id for fake in entry.manifest.fake_fixes}
        return rejected

    return run
