"""Fault library: registration, parameter validation of every kind, and the undo bookkeeping."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness.agents.chaos_proxy import Proxy
from harness.agents.restart_loop import init_pid
from harness.errors import BreakfixError
from harness.faults import REGISTRY, FaultContext, build
from harness.manifest import FaultSpec

KINDS = {
    "container-stop": {"service": "app"},
    "container-kill": {"service": "app", "signal": "SIGTERM"},
    "container-pause": {"service": "app"},
    "restart-loop": {"service": "app", "every": 2},
    "memory-limit": {"service": "app", "limit": "64m"},
    "cpu-limit": {"service": "app", "cpus": 0.5},
    "chaos-proxy": {"service": "app", "port": 8000, "toxics": [{"type": "latency", "attributes": {"latency": 100}}]},
    "memory-hog": {"service": "app", "size": "32m"},
    "cpu-hog": {"service": "app", "workers": 2},
    "app-switch": {"service": "app", "path": "/srv/flags.json", "flag": "leak", "value": True},
    "file-drift": {"service": "app", "path": "/etc/app.conf", "content": "x"},
}


def make(kind: str, **params: Any):
    return build(FaultSpec(kind=kind, params=params), 0)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_builds_with_valid_params(kind: str) -> None:
    fault = make(kind, **KINDS[kind])
    assert fault.kind == kind and fault.key == f"00-{kind}"


def test_the_issue_kinds_are_all_registered() -> None:
    make("container-stop", service="app")  # loads the families
    assert set(KINDS) <= set(REGISTRY)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_unknown_params_are_rejected(kind: str) -> None:
    with pytest.raises(BreakfixError, match=r"faults\[0\] \(" + kind + r"\)\.params: colour"):
        make(kind, **KINDS[kind], colour="red")


@pytest.mark.parametrize(
    ("kind", "params", "problem"),
    [
        ("container-kill", {"service": "app", "signal": "SIGNOPE"}, "not a signal name"),
        ("container-stop", {"service": "app", "timeout": -1}, "timeout"),
        ("restart-loop", {"service": "app", "every": 0.1}, "every"),
        ("memory-limit", {"service": "app", "limit": "lots"}, "not a size"),
        ("memory-limit", {"service": "app", "limit": "1m"}, "at least 6m"),
        ("cpu-limit", {"service": "app", "cpus": 0}, "cpus"),
        ("memory-hog", {"service": "app", "size": "12q"}, "not a size"),
        ("cpu-hog", {"service": "app", "workers": 0}, "workers"),
        ("cpu-hog", {"service": "app", "seconds": 0}, "seconds"),
        ("app-switch", {"service": "app", "path": "flags.json", "flag": "x", "value": 1}, "absolute"),
        ("app-switch", {"service": "app", "path": "/f.json", "value": 1}, "flag"),
        ("chaos-proxy", {"service": "app"}, "port"),
        ("chaos-proxy", {"service": "app", "port": 80, "toxics": [{"type": "netem"}]}, "type"),
        ("chaos-proxy", {"service": "app", "port": 80, "toxics": [{"type": "latency", "toxicity": 1.5}]}, "toxicity"),
        ("chaos-proxy", {"service": "app", "port": 80, "toxics": [{"type": "latency", "attributes": {"rate": 1}}]}, "no attribute"),
        ("chaos-proxy", {"service": "app", "port": 80, "toxics": [{"type": "bandwidth", "attributes": {"rate": -1}}]}, "negative"),
        ("chaos-proxy", {"service": "app", "port": 80, "toxics": [{"type": "latency", "stream": "sideways"}]}, "stream"),
        ("chaos-proxy", {"service": "app", "port": 80, "reload": ["nginx", "-s", "reload"]}, "together"),
    ],
)
def test_invalid_params_say_what_is_wrong(kind: str, params: dict, problem: str) -> None:
    with pytest.raises(BreakfixError, match=problem):
        make(kind, **params)


def test_signal_names_are_normalised() -> None:
    assert make("container-kill", service="app", signal="hup").params.signal == "SIGHUP"


# -- undo bookkeeping, against a recording stand-in for the engine (our logic only) --------------


class FakeDocker:
    """Records `docker update` calls and serves a container whose HostConfig we control."""

    def __init__(self, host_config: dict[str, Any]) -> None:
        self.host_config = host_config
        self.updates: list[dict[str, int]] = []
        self.files: dict[str, bytes] = {}
        api = SimpleNamespace(
            _url=lambda template, cid: template.format(cid),
            _post_json=lambda url, data: self.updates.append(data) or data,
            _result=lambda response, _json: response,
        )
        self.client = SimpleNamespace(api=api, info=lambda: {"MemTotal": 8 * 1024**3, "NCPU": 4})

    def container(self, service: str) -> Any:
        return SimpleNamespace(id="c0ffee", attrs={"HostConfig": self.host_config})


def context(tmp_path: Path, docker: Any) -> FaultContext:
    return FaultContext("unit", tmp_path / "entry", tmp_path / "faults", docker_runtime=docker)


def test_limit_inject_twice_saves_the_first_original(tmp_path: Path) -> None:
    docker = FakeDocker({"Memory": 128 * 1024**2, "MemorySwap": 128 * 1024**2})
    ctx = context(tmp_path, docker)
    fault = make("memory-limit", service="app", limit="64m")
    fault.inject(ctx)
    docker.host_config = {"Memory": 64 * 1024**2, "MemorySwap": 64 * 1024**2}  # what the engine now reports
    fault.inject(ctx)
    fault.revert(ctx)
    assert docker.updates[-1] == {"Memory": 128 * 1024**2, "MemorySwap": 128 * 1024**2}
    fault.revert(ctx)  # a second revert (teardown after reset) is a no-op
    assert len(docker.updates) == 3


def test_limit_revert_without_inject_is_a_noop(tmp_path: Path) -> None:
    docker = FakeDocker({"NanoCpus": 0})
    make("cpu-limit", service="app", cpus=1).revert(context(tmp_path, docker))
    assert docker.updates == []


def test_unlimited_cpu_is_restored_as_every_host_cpu(tmp_path: Path) -> None:
    """docker update cannot remove a limit; all of the host's CPUs is the same in effect."""
    docker = FakeDocker({"NanoCpus": 0})
    ctx = context(tmp_path, docker)
    fault = make("cpu-limit", service="app", cpus=0.25)
    fault.inject(ctx)
    fault.revert(ctx)
    assert docker.updates == [{"NanoCpus": 250_000_000}, {"NanoCpus": 4 * 10**9}]


def test_undo_state_survives_a_new_process(tmp_path: Path) -> None:
    """start and stop are separate CLI processes: the undo must be on disk, not in the object."""
    docker = FakeDocker({"Memory": 100 * 1024**2, "MemorySwap": 200 * 1024**2})
    make("memory-limit", service="app", limit="32m").inject(context(tmp_path, docker))
    make("memory-limit", service="app", limit="32m").revert(context(tmp_path, docker))
    assert docker.updates[-1] == {"Memory": 100 * 1024**2, "MemorySwap": 200 * 1024**2}


def test_app_switch_sets_one_flag_and_keeps_the_others(tmp_path: Path) -> None:
    fault = make("app-switch", service="app", path="/srv/flags.json", flag="quote_cache", value="unbounded")
    original = json.dumps({"quote_cache": "lru", "audit": True}).encode()
    assert json.loads(fault._new_content(context(tmp_path, None), original)) == {"quote_cache": "unbounded", "audit": True}
    assert json.loads(fault._new_content(context(tmp_path, None), None)) == {"quote_cache": "unbounded"}
    with pytest.raises(BreakfixError, match="not a JSON object"):
        fault._new_content(context(tmp_path, None), b"[1, 2]")


# -- the chaos proxy's own logic (the program runs in a container; its toxic table is plain code) --


def test_proxy_validates_toxics_at_runtime() -> None:
    proxy = Proxy(("app", 80), seed=1)
    toxic = proxy.add({"type": "latency", "attributes": {"latency": 50}, "toxicity": 0.5})
    assert toxic["name"] == "latency_downstream" and toxic["attributes"] == {"latency": 50.0, "jitter": 0}
    for bad, message in [({"type": "netem"}, "type must be"), ({"type": "latency", "stream": "x"}, "stream"),
                         ({"type": "latency", "toxicity": 2}, "toxicity"), ({"type": "timeout", "attributes": {"delay": 1}}, "no attribute")]:
        with pytest.raises(ValueError, match=message):
            proxy.add(bad)
    assert proxy.route("DELETE", "/toxics/latency_downstream", b"")[0] == 200
    assert proxy.route("DELETE", "/toxics/latency_downstream", b"")[0] == 404


def test_proxy_control_api_routes() -> None:
    proxy = Proxy(("app", 80), seed=1)
    status, toxic = proxy.route("POST", "/toxics", json.dumps({"name": "slow", "type": "bandwidth", "attributes": {"rate": 8}}).encode())
    assert status == 200 and toxic["name"] == "slow"
    assert [t["name"] for t in proxy.route("GET", "/toxics", b"")[1]] == ["slow"]
    assert proxy.route("GET", "/nothing", b"")[0] == 404


def test_restart_loop_finds_the_containers_pid_1_by_cgroup(tmp_path: Path) -> None:
    """cgroup v1 (cgroupfs), v2 (systemd driver) and other containers' processes side by side."""
    for pid, cgroup in [(812, "0::/system.slice/docker-abc123.scope"), (790, "12:memory:/docker/abc123\n0::/"),
                        (42, "0::/docker/other"), (7, "0::/init.scope")]:
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "cgroup").write_text(cgroup)
    (tmp_path / "self").mkdir()
    assert init_pid("abc123", str(tmp_path)) == 790
    assert init_pid("gone", str(tmp_path)) is None
