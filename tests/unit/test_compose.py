"""The compose subset: loopback-only ports, dependency order, durations."""

from pathlib import Path

import pytest

from harness.errors import BreakfixError
from harness.runtime.compose import Healthcheck, Stack, load_stack, parse_duration


def stack(**services: dict) -> Stack:
    return Stack.model_validate({"services": services})


def test_loopback_port_accepted() -> None:
    web = stack(web={"image": "x", "ports": ["127.0.0.1:8080:80"]}).services["web"]
    assert web.published() == [(8080, 80, "tcp")]


@pytest.mark.parametrize("port", ["8080:80", "0.0.0.0:8080:80", "192.168.1.2:8080:80", "80"])
def test_non_loopback_ports_rejected(tmp_path: Path, port: str) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text(f"services:\n  web:\n    image: x\n    ports: ['{port}']\n")
    with pytest.raises(BreakfixError, match=r"compose.yaml: services.web.ports: .*127.0.0.1"):
        load_stack(path)


def test_unknown_service_key_rejected(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text("services:\n  web:\n    image: x\n    privileged: true\n")
    with pytest.raises(BreakfixError, match="services.web.privileged: Extra inputs"):
        load_stack(path)


def test_environment_list_form() -> None:
    web = stack(web={"image": "x", "environment": ["A=1", "B"]}).services["web"]
    assert web.environment == {"A": "1", "B": ""}


def test_start_levels_put_dependencies_first() -> None:
    levels = stack(lb={"image": "x", "depends_on": ["app"]}, app={"image": "x", "depends_on": ["db"]}, db={"image": "x"}).start_levels()
    assert levels == [["db"], ["app"], ["lb"]]


def test_independent_services_share_a_level() -> None:
    services = {
        "lb": {"image": "x", "depends_on": ["app-1", "app-2"]},
        "app-1": {"image": "x"},
        "app-2": {"image": "x", "depends_on": ["cache"]},
        "cache": {"image": "x"},
    }
    assert stack(**services).start_levels() == [["app-1", "cache"], ["app-2"], ["lb"]]


def test_dependency_cycle_is_named() -> None:
    with pytest.raises(BreakfixError, match="cycle: a -> b -> a"):
        stack(a={"image": "x", "depends_on": ["b"]}, b={"image": "x", "depends_on": ["a"]}).start_levels()


def test_unknown_dependency() -> None:
    with pytest.raises(BreakfixError, match="unknown service 'ghost'"):
        stack(a={"image": "x", "depends_on": ["ghost"]}).start_levels()


@pytest.mark.parametrize(("text", "seconds"), [("1s", 1), ("200ms", 0.2), ("1m30s", 90), ("0s", 0)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


def test_bad_duration() -> None:
    with pytest.raises(BreakfixError):
        parse_duration("soon")


def test_shipped_stacks_parse() -> None:
    from harness.paths import content_root

    for path in content_root().glob("scenarios/*/stack/compose.yaml"):
        assert load_stack(path).services


@pytest.mark.parametrize(
    ("test", "command"),
    [(["CMD", "curl", "-fsS", "http://127.0.0.1/"], ["curl", "-fsS", "http://127.0.0.1/"]), (["CMD-SHELL", "pgrep nginx || exit 1"], ["/bin/sh", "-c", "pgrep nginx || exit 1"])],
)
def test_healthcheck_command(test: list[str], command: list[str]) -> None:
    assert Healthcheck(test=test).command() == command


def test_healthcheck_test_needs_its_form() -> None:
    with pytest.raises(ValueError, match="CMD-SHELL"):
        Healthcheck(test=["curl", "http://127.0.0.1/"])
