"""Every fault kind against real containers: the effect shows, revert restores the baseline.

One small stack for the whole module (an HTTP app with a memory and CPU limit, and a client
on the same network), each test injecting one fault and reverting it. Assertions are lower
bounds of effects (a latency toxic of 300 ms cannot make a request faster) or kernel/engine
state, never upper bounds on timing, so a busy machine cannot make them flake.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.errors import BreakfixError
from harness.faults import Fault, FaultContext, build
from harness.faults.network import Toxic, add_toxic, proxy_service, proxy_stats, remove_toxic, toxics
from harness.manifest import FaultSpec
from harness.runtime.compose import Stack
from harness.runtime.docker import DockerRuntime

pytestmark = pytest.mark.docker
INSTANCE = "faults-e2e"
MIB = 1024 * 1024

APP = '''
import json, os, signal, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GREETING = open("/etc/greeting.conf").read().strip()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self):
        if self.path.startswith("/bytes/"):
            body = b"x" * int(self.path.removeprefix("/bytes/"))
        else:
            with open("/srv/flags/flags.json") as flags:
                body = json.dumps({"greeting": GREETING, "flags": json.load(flags), "pid": os.getpid()}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


signal.signal(signal.SIGHUP, lambda *_: os.execv(sys.executable, [sys.executable, *sys.argv]))
open("/tmp/app.pid", "w").write(str(os.getpid()))
ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
'''

STACK = {
    "services": {
        "app": {
            "image": "breakfix/base:bookworm",
            "command": ["sh", "-c", ("echo hello > /etc/greeting.conf && mkdir -p /srv/flags && "
                                     "echo '{\"mode\": \"normal\"}' > /srv/flags/flags.json && exec python3 /srv/app/app.py")],
            "init": True,
            "restart": "unless-stopped",
            "ports": ["127.0.0.1:18101:8000"],
            "volumes": ["./app:/srv/app:ro"],
            "mem_limit": "128m",
            "cpus": 1.0,
            "healthcheck": {"test": ["CMD", "curl", "-fsS", "http://127.0.0.1:8000/"], "interval": "500ms"},
        },
        "client": {"image": "breakfix/base:bookworm", "command": ["sleep", "infinity"], "init": True},
    }
}


@pytest.fixture(scope="module")
def docker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerRuntime]:
    stack_dir = tmp_path_factory.mktemp("faults-stack")
    (stack_dir / "app").mkdir()
    (stack_dir / "app" / "app.py").write_text(APP)
    runtime = DockerRuntime(INSTANCE)
    runtime.teardown()  # anything left by an interrupted earlier run
    try:
        runtime.provision(Stack.model_validate(STACK), stack_dir)
        yield runtime
    finally:
        runtime.teardown()
    assert runtime.leftovers() == []


@pytest.fixture
def ctx(docker: DockerRuntime, tmp_path: Path) -> FaultContext:
    return FaultContext(docker.instance, tmp_path, tmp_path / "faults", docker_runtime=docker)


@pytest.fixture
def fault(ctx: FaultContext) -> Iterator[Callable[..., Fault]]:
    """fault(kind, **params) -> a built fault, reverted at the end of the test whatever happens."""
    made: list[Fault] = []

    def make(kind: str, **params: object) -> Fault:
        made.append(build(FaultSpec(kind=kind, params=params), len(made)))
        return made[-1]

    yield make
    for each in reversed(made):
        each.revert(ctx)


def state(docker: DockerRuntime, service: str = "app") -> dict:
    return docker.container(service).attrs["State"]


def request(docker: DockerRuntime, path: str = "/", max_time: float = 5) -> tuple[int, str, float]:
    """curl from the client container to app by name: (curl exit code, body, seconds)."""
    script = (f"took=$(curl -s --max-time {max_time} -o /tmp/body -w '%{{time_total}}' http://app:8000{path}); "
              "code=$?; echo \"$code $took\"; cat /tmp/body 2>/dev/null; rm -f /tmp/body")
    _, output = docker.exec("client", ["sh", "-c", script])
    status, _, body = output.partition("\n")
    code, seconds = status.split()
    return int(code), body, float(seconds)


def answers(docker: DockerRuntime) -> dict:
    code, body, _ = request(docker)
    assert code == 0, f"app does not answer through the network: {body}"
    return json.loads(body)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f}s waiting for {what}"
        time.sleep(0.1)


def running(docker: DockerRuntime) -> bool:
    return state(docker)["Running"] and request(docker, max_time=2)[0] == 0


def rss_mib(docker: DockerRuntime) -> float:
    _, output = docker.exec("app", ["sh", "-c", "ps -eo rss= | awk '{s+=$1} END {print s}'"])
    return int(output) / 1024


def cgroup(docker: DockerRuntime, v1: str, v2: str) -> str:
    _, output = docker.exec("app", ["sh", "-c", f"cat /sys/fs/cgroup/{v2} 2>/dev/null || cat /sys/fs/cgroup/{v1}"])
    return output.strip()


# -- container ----------------------------------------------------------------------------------


def test_container_stop_and_revert(docker, ctx, fault) -> None:
    stop = fault("container-stop", service="app")
    stop.inject(ctx)
    stop.inject(ctx)  # idempotent: the saved state is still "was running"
    assert state(docker)["Status"] == "exited"
    assert request(docker, max_time=1)[0] != 0
    stop.revert(ctx)
    wait_for(lambda: running(docker), "app to answer again")
    stop.revert(ctx)  # a second revert is a no-op


def test_container_kill_with_a_signal(docker, ctx, fault) -> None:
    kill = fault("container-kill", service="app", signal="SIGKILL")
    kill.inject(ctx)
    kill.inject(ctx)
    wait_for(lambda: not state(docker)["Running"], "the container to die")
    assert state(docker)["ExitCode"] == 137
    kill.revert(ctx)
    wait_for(lambda: running(docker), "app to answer again")


def test_container_pause_freezes_requests(docker, ctx, fault) -> None:
    pause = fault("container-pause", service="app")
    pause.inject(ctx)
    pause.inject(ctx)
    assert state(docker)["Paused"]
    code, _, seconds = request(docker, max_time=1)
    assert code == 28 and seconds >= 0.9, "a request to a frozen app must hang until the client's timeout"
    pause.revert(ctx)
    assert not state(docker)["Paused"] and answers(docker)


def test_restart_loop_crashes_and_restarts_until_reverted(docker, ctx, fault) -> None:
    loop = fault("restart-loop", service="app", every=1)
    before = docker.container("app").attrs["RestartCount"]
    loop.inject(ctx)
    loop.inject(ctx)  # still one helper
    wait_for(lambda: docker.container("app").attrs["RestartCount"] >= before + 2, "two crash-restarts", timeout=30)
    assert state(docker)["ExitCode"] == 137 or state(docker)["Restarting"] or state(docker)["Running"]
    loop.revert(ctx)
    with pytest.raises(BreakfixError):
        docker.container("chaos-restart-app")  # the helper is gone
    wait_for(lambda: running(docker), "app to answer again")
    settled = docker.container("app").attrs["RestartCount"]
    time.sleep(2.5)  # longer than `every`: no further crash after revert
    assert docker.container("app").attrs["RestartCount"] == settled
    assert docker.container("app").attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"


def test_memory_limit_change_reaches_the_cgroup(docker, ctx, fault) -> None:
    limit = fault("memory-limit", service="app", limit="64m")
    limit.inject(ctx)
    limit.inject(ctx)
    assert docker.container("app").attrs["HostConfig"]["Memory"] == 64 * MIB
    assert int(cgroup(docker, "memory/memory.limit_in_bytes", "memory.max")) == 64 * MIB
    limit.revert(ctx)
    assert int(cgroup(docker, "memory/memory.limit_in_bytes", "memory.max")) == 128 * MIB


def test_cpu_limit_throttles_a_busy_process(docker, ctx, fault) -> None:
    limit = fault("cpu-limit", service="app", cpus=0.2)
    limit.inject(ctx)
    assert docker.container("app").attrs["HostConfig"]["NanoCpus"] == 200_000_000
    throttled_before = cgroup(docker, "cpu/cpu.stat", "cpu.stat")
    docker.exec("app", ["python3", "-c", "import time; t = time.monotonic()\nwhile time.monotonic() - t < 0.5: pass"])
    throttled_after = cgroup(docker, "cpu/cpu.stat", "cpu.stat")

    def periods(stat: str) -> int:
        return int(next(line.split()[1] for line in stat.splitlines() if line.startswith("nr_throttled")))

    assert periods(throttled_after) > periods(throttled_before), "a busy loop under a 0.2 CPU limit must be throttled"
    limit.revert(ctx)
    assert docker.container("app").attrs["HostConfig"]["NanoCpus"] == 1_000_000_000


# -- resource hogs ------------------------------------------------------------------------------


def test_memory_hog_raises_memory_until_reverted(docker, ctx, fault) -> None:
    baseline = rss_mib(docker)
    hog = fault("memory-hog", service="app", size="48m", seconds=120)
    hog.inject(ctx)
    hog.inject(ctx)  # one hog, not two
    wait_for(lambda: rss_mib(docker) >= baseline + 45, "the hog's 48 MiB to be resident")
    assert rss_mib(docker) < baseline + 90, "a second inject must not start a second hog"
    hog.revert(ctx)
    wait_for(lambda: rss_mib(docker) < baseline + 10, "memory back to the baseline")


def test_cpu_hog_burns_cpu_until_reverted(docker, ctx, fault) -> None:
    hog = fault("cpu-hog", service="app", workers=1, seconds=120)
    hog.inject(ctx)
    hog.inject(ctx)

    def hog_cpu_seconds() -> float:
        _, output = docker.exec("app", ["sh", "-c", "ps -o times= -p $(pgrep -d, -f breakfix-hog) 2>/dev/null | awk '{s+=$1} END {print s+0}'"])
        return float(output.strip() or 0)

    wait_for(lambda: hog_cpu_seconds() >= 0.3, "the hog to use CPU time")
    _, processes = docker.exec("app", ["pgrep", "-c", "-f", "breakfix-hog"])
    assert int(processes) == 1, "a second inject must not start a second hog"
    hog.revert(ctx)
    assert docker.exec("app", ["pgrep", "-f", "breakfix-hog"])[0] == 1, "the hog is still running after revert"


# -- process and files --------------------------------------------------------------------------


def test_app_switch_flips_a_flag_the_app_reads(docker, ctx, fault) -> None:
    switch = fault("app-switch", service="app", path="/srv/flags/flags.json", flag="mode", value="leaky")
    switch.inject(ctx)
    switch.inject(ctx)
    assert answers(docker)["flags"] == {"mode": "leaky"}
    switch.revert(ctx)
    assert answers(docker)["flags"] == {"mode": "normal"}


def test_file_drift_replaces_a_file_and_reloads(docker, ctx, fault) -> None:
    reload = ["sh", "-c", "kill -HUP \"$(cat /tmp/app.pid)\" && sleep 0.5"]
    drift = fault("file-drift", service="app", path="/etc/greeting.conf", replace={"hello": "bonjour"}, reload=reload)
    drift.inject(ctx)
    wait_for(lambda: request(docker)[0] == 0, "app back after the reload")
    assert answers(docker)["greeting"] == "bonjour"
    drift.inject(ctx)  # the original saved at the first inject is what revert restores
    drift.revert(ctx)
    wait_for(lambda: request(docker)[0] == 0, "app back after the reload")
    assert answers(docker)["greeting"] == "hello"


# -- network: the chaos proxy -------------------------------------------------------------------


@pytest.fixture
def proxy(docker, ctx, fault) -> Iterator[Fault]:
    chaos = fault("chaos-proxy", service="app", port=8000, seed=7,
                  toxics=[{"name": "slow", "type": "latency", "attributes": {"latency": 300}}])
    chaos.inject(ctx)
    chaos.inject(ctx)  # one proxy
    yield chaos


def test_proxy_latency_delays_requests(docker, ctx, proxy) -> None:
    code, body, seconds = request(docker)
    assert code == 0 and json.loads(body)["greeting"] == "hello", "the proxy must still deliver the app's answer"
    assert seconds >= 0.3, f"a 300 ms latency toxic, but the request took {seconds:.3f}s"
    assert proxy_stats(ctx, "app")["applied:slow"] >= 1
    _, mapped = docker.exec("client", ["grep", "-c", "breakfix chaos-proxy", "/etc/hosts"])
    assert mapped.strip() == "1", "two injects must leave one mapping to the proxy"


def test_proxy_toxics_change_at_runtime(docker, ctx, proxy) -> None:
    remove_toxic(ctx, "app", "slow")
    add_toxic(ctx, "app", Toxic(name="reset", type="reset_peer", stream="upstream"))
    assert request(docker, max_time=3)[0] == 56, "reset_peer must reset the connection (curl exit 56)"
    remove_toxic(ctx, "app", "reset")
    add_toxic(ctx, "app", Toxic(name="hang", type="timeout", attributes={"timeout": 0}))
    code, _, seconds = request(docker, max_time=1)
    assert code == 28 and seconds >= 0.9, "a timeout toxic of 0 holds the response until the client gives up"
    remove_toxic(ctx, "app", "hang")
    add_toxic(ctx, "app", Toxic(name="thin", type="bandwidth", attributes={"rate": 20}))
    code, body, seconds = request(docker, "/bytes/20480")
    assert code == 0 and len(body) == 20480 and seconds >= 0.9, f"20 KiB at 20 KiB/s took {seconds:.2f}s"
    remove_toxic(ctx, "app", "thin")
    assert toxics(ctx, "app") == []
    assert request(docker)[0] == 0


def test_proxy_slow_close_and_jitter(docker, ctx, proxy) -> None:
    remove_toxic(ctx, "app", "slow")
    add_toxic(ctx, "app", Toxic(name="linger", type="slow_close", attributes={"delay": 800}))
    add_toxic(ctx, "app", Toxic(name="shaky", type="jitter", attributes={"jitter": 200}))
    # read until the proxy closes: the close, not the response, is what slow_close delays
    script = ("import socket, time; s = socket.create_connection(('app', 8000)); t = time.monotonic(); "
              "s.sendall(b'GET / HTTP/1.1\\r\\nHost: app\\r\\nConnection: close\\r\\n\\r\\n')\n"
              "while s.recv(65536): pass\nprint(time.monotonic() - t)")
    _, output = docker.exec("client", ["python3", "-c", script])
    assert float(output) >= 0.8, f"slow_close of 800 ms, but the connection closed after {float(output):.3f}s"
    assert proxy_stats(ctx, "app")["applied:shaky"] >= 1


def test_proxy_toxicity_applies_to_a_fraction_of_connections(docker, ctx, proxy) -> None:
    remove_toxic(ctx, "app", "slow")
    add_toxic(ctx, "app", Toxic(name="some", type="latency", toxicity=0.5, attributes={"latency": 1}))
    before = proxy_stats(ctx, "app").get("connections", 0)
    for _ in range(30):
        assert request(docker)[0] == 0
    stats = proxy_stats(ctx, "app")
    connections = stats["connections"] - before
    assert connections == 30 and 0 < stats["applied:some"] < connections, stats


def test_proxy_revert_restores_the_direct_path(docker, ctx, proxy) -> None:
    proxy.revert(ctx)
    with pytest.raises(BreakfixError):
        docker.container(proxy_service("app"))
    _, resolved = docker.exec("client", ["getent", "hosts", "app"])
    app_ip = docker.container("app").attrs["NetworkSettings"]["Networks"][docker.network_name]["IPAddress"]
    assert resolved.split()[0] == app_ip, "after revert the name app must resolve to the app container again"
    assert answers(docker)["greeting"] == "hello"
    published = urllib.request.urlopen("http://127.0.0.1:18101/", timeout=5).read()
    assert json.loads(published)["greeting"] == "hello", "the published port must survive the network re-attach"
