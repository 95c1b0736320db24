"""The compose subset: loopback-only ports, dependency order, durations."""

import re
from pathlib import Path

import pytest

from harness.errors import BreakfixError
from harness.runtime.compose import Healthcheck, Stack, load_stack, parse_duration, parse_volume


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


def test_environment_scalars_as_compose_passes_them() -> None:
    web = stack(web={"image": "x", "environment": {"A": 1, "B": None, "C": True, "D": 0.5}}).services["web"]
    assert web.environment == {"A": "1", "B": "", "C": "true", "D": "0.5"}


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


# -- issue 11: what start used to trip on is an error when the stack loads ------------------------------------


def write_stack(tmp_path: Path, services: str) -> Path:
    path = tmp_path / "compose.yaml"
    path.write_text("services:\n" + services)
    return path


@pytest.mark.parametrize(
    ("services", "problem"),
    [
        ("  web:\n    image: x\n    ports: ['127.0.0.1:99999:80']\n", r"services\.web\.ports: .*between 1 and 65535"),
        ("  web:\n    image: x\n    ports: ['127.0.0.1:8080:0']\n", r"services\.web\.ports: .*between 1 and 65535"),
        ("  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n", r"services\.a\.depends_on: cycle: a -> b -> a"),
        ("  a:\n    image: x\n    depends_on: [ghost]\n", r"services\.a\.depends_on: unknown service 'ghost'"),
        ("  a:\n    image: x\n    ports: ['127.0.0.1:8080:80']\n  b:\n    image: x\n    ports: ['127.0.0.1:8080:81']\n",
         r"services\.b\.ports: host port 8080/tcp is already published by a"),
        ("  'bad name':\n    image: x\n", r"services: 'bad name': a service name is"),
        ("  web:\n    image: ''\n", r"services\.web\.image: String should have at least 1 character"),
        ("  web:\n    image: x\n    volumes: [./app]\n", r"services\.web\.volumes: '\./app': write a volume as"),
        ("  web:\n    image: x\n    tmpfs: [tmp]\n", r"services\.web\.tmpfs: 'tmp': a tmpfs mount is an absolute path"),
        ("  web:\n    image: x\n    init: yes\n    pids_limit: true\n", r"services\.web\.pids_limit: true is not a number"),
        ("  web:\n    image: x\n    stop_grace_period: later\n", r"stop_grace_period: 'later' is not a duration"),
        ("  web:\n    image: x\n    healthcheck:\n      test: [CMD, 'true']\n      retries: -1\n", r"healthcheck\.retries: Input should be greater than or equal to 0"),
        ("  web:\n    image: x\n  web:\n    image: y\n", r"line 4 invalid YAML: duplicate key 'web'"),
        ("  web:\n    image: x\n    environment: {SECRET: {nested: 1}}\n", r"services\.web\.environment: 'SECRET': an environment value is a string or a number"),
        ("  web:\n    image: x\n    environment: [{A: 1}]\n", r"services\.web\.environment: write each item of an environment list as NAME=value"),
    ],
)
def test_stack_problems_are_named(tmp_path: Path, services: str, problem: str) -> None:
    path = write_stack(tmp_path, services)
    with pytest.raises(BreakfixError) as caught:
        load_stack(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert re.search(problem, message), message


def test_bytes_that_are_not_utf8_in_a_stack(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_bytes(b"services:\n  web:\n    image: caf\xe9\n")
    with pytest.raises(BreakfixError, match=r"compose.yaml: line 3: not UTF-8 text"):
        load_stack(path)


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [("./app:/srv/app", ("./app", "/srv/app", "rw")), ("./x:/y:ro", ("./x", "/y", "ro")), ("data:/var/lib/data", ("data", "/var/lib/data", "rw"))],
)
def test_volume_forms(spec: str, parsed: tuple[str, str, str]) -> None:
    assert parse_volume(spec) == parsed


def test_host_paths_are_the_bind_mounts() -> None:
    web = stack(web={"image": "x", "volumes": ["./app:/srv/app", "data:/data", "/etc:/host:ro"]}).services["web"]
    assert web.host_paths() == ["./app", "/etc"]
