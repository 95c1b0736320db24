"""Shared test setup: an isolated state dir per test, and skipping Docker tests with a reason."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.catalog import Entry

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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    docker_items = [item for item in items if item.get_closest_marker("docker")]
    if not docker_items:
        return
    if not _ENGINE_PROBLEM:
        _ENGINE_PROBLEM.append(docker_engine_problem())
    if _ENGINE_PROBLEM[0]:
        skip = pytest.mark.skip(reason=f"no Docker engine: {_ENGINE_PROBLEM[0]}")
        for item in docker_items:
            item.add_marker(skip)


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
