"""The suite's own parallel-run rule (tests/conftest.py): tests that provision the same fixed resource,
directly or through a test sharing another one with them, land in one xdist group; the rest spread."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = Path(__file__).parents[1] / "conftest.py"


def test_shared_resources_join_groups_and_undeclared_docker_tests_stay_with_their_module(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makeini("[pytest]\nmarkers =\n    docker: d\n    uses: u\n")
    pytester.makepyfile(test_grouping='''
import pytest

@pytest.mark.uses("502-storm")
def test_storm(): pass

@pytest.mark.uses("memory-leak", "502-storm")
def test_both(): pass

@pytest.mark.uses("memory-leak")
def test_leak(): pass

@pytest.mark.uses("aws-emulator")
def test_emulator(): pass

@pytest.mark.docker
def test_undeclared_docker(): pass

def test_unit(): pass
''')
    items, _ = pytester.inline_genitems()
    groups = {item.name: (marker.args[0] if (marker := item.get_closest_marker("xdist_group")) else None) for item in items}
    assert groups["test_storm"] == groups["test_both"] == groups["test_leak"]
    assert groups["test_emulator"] not in (None, groups["test_storm"])
    assert groups["test_undeclared_docker"] == "module test_grouping"
    assert groups["test_unit"] is None


def test_under_xdist_the_tests_of_one_group_run_on_one_worker(pytester: pytest.Pytester) -> None:
    """The marks must reach xdist's scheduler (pytest 9.2 broke that for pytest-xdist 3.8: see pyproject.toml)."""
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makeini("[pytest]\nmarkers =\n    docker: d\n    uses: u\n")
    log = pytester.path / "workers.log"
    body = "".join(
        f'''
@pytest.mark.uses("502-storm")
def test_storm_{number}():
    time.sleep(0.2)
    with open({str(log)!r}, "a") as out:
        out.write(os.environ["PYTEST_XDIST_WORKER"] + "\\n")
''' for number in range(6))
    pytester.makepyfile(test_grouped="import os, time\n\nimport pytest\n" + body)
    result = pytester.runpytest_subprocess("-n", "3", "--dist", "loadgroup", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)
    workers = log.read_text().split()
    assert len(workers) == 6 and len(set(workers)) == 1, f"one group ran on several workers: {workers}"
