"""memory-leak end to end on the real engine: verify with every fake fix rejected by its own check."""

from __future__ import annotations

import pytest

from harness import catalog
from harness.runtime.docker import DockerRuntime

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.uses("memory-leak")]
SCENARIO = "memory-leak"


def test_verify_with_every_fake_fix_rejected(rejected_fakes) -> None:
    """healthy passes, leaking release OOM-killed, bounded cache passes, each fake fails, nothing left."""
    entry = catalog.find(SCENARIO)
    rejected = rejected_fakes(entry)
    # each fake is caught by the condition written for it, not only by accident
    assert {"test_memory_stays_bounded", "test_memory_has_no_upward_trend"} <= set(rejected["raise-memory-limit"])
    assert "test_quote_cache_still_works" in rejected["cache-off"]
    assert "test_no_oom_kill_or_restart_during_load" in rejected["periodic-restart"]
    assert "test_no_oom_kill_or_restart_during_load" in rejected["restart-always"]
    assert DockerRuntime(SCENARIO).leftovers() == []
