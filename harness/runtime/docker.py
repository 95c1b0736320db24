"""Docker runtime: provisions a compose stack through the Docker SDK, labelled with the instance id.

Every object it creates carries `breakfix.instance=<id>`, so teardown can find and remove
everything by label, then prove nothing is left -- even after a Ctrl-C between two API calls.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import docker
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.models.containers import Container

from harness.errors import BreakfixError
from harness.runtime import Progress
from harness.runtime.common import INSTANCE_LABEL, SERVICE_LABEL, port_is_free
from harness.runtime.compose import Service, Stack, parse_duration
from harness.sizes import size_bytes
from harness.timing import wait_until

if TYPE_CHECKING:
    from harness.settle import Readiness

T = TypeVar("T")
INTERRUPTS = {signal.SIGINT, signal.SIGTERM}
ENGINE_HELP = (
    "no Docker engine reachable. Start one (`sudo systemctl start docker`, or as root: "
    "`apt-get install docker.io && dockerd &`) or set DOCKER_HOST; `breakfix doctor` checks"
)


def connect(timeout: float = 60) -> docker.DockerClient:
    """A client to a live engine, or a one-line error saying how to get one."""
    try:
        client = docker.from_env(timeout=int(timeout))
        client.ping()
        return client
    except DockerException as exc:
        raise BreakfixError(f"{ENGINE_HELP} ({type(exc).__name__})") from None


def _nanos(duration: str) -> int:
    return int(parse_duration(duration) * 1e9)


class DockerRuntime:
    """One instance's containers, network and volumes on the local engine."""

    def __init__(self, instance: str, client: docker.DockerClient | None = None) -> None:
        self.instance = instance
        self._client = client

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            self._client = connect()
        return self._client

    @property
    def prefix(self) -> str:
        return f"bf-{self.instance}"

    @property
    def network_name(self) -> str:
        return self.prefix

    def container_name(self, service: str) -> str:
        return f"{self.prefix}-{service}"

    def labels(self, service: str | None = None) -> dict[str, str]:
        labels = {INSTANCE_LABEL: self.instance}
        if service:
            labels[SERVICE_LABEL] = service
        return labels

    # -- preflight ------------------------------------------------------------------------------

    def preflight(self, stack: Stack) -> list[str]:
        """Every problem that would stop provisioning, each with the way out."""
        try:
            client = self.client  # connecting is the first check
        except BreakfixError as exc:
            return [str(exc)]
        problems = []
        for image in sorted({service.image for service in stack.services.values()}):
            try:
                client.images.get(image)
            except ImageNotFound:
                problems.append(f"image {image} is missing: run `breakfix images build`")
        ours = {port for port in self._published_ports_of_instance()}
        for name, service in stack.services.items():
            for host_port, _, _ in service.published():
                if host_port not in ours and not port_is_free(host_port):
                    problems.append(f"port 127.0.0.1:{host_port} (service {name}) is in use: free it or stop what holds it")
        return problems

    def _published_ports_of_instance(self) -> list[int]:
        ports: list[int] = []
        for container in self.client.containers.list(all=True, filters={"label": f"{INSTANCE_LABEL}={self.instance}"}):
            for bindings in (container.attrs["HostConfig"].get("PortBindings") or {}).values():
                ports.extend(int(binding["HostPort"]) for binding in bindings or [])
        return ports

    # -- provision ------------------------------------------------------------------------------

    def provision(self, stack: Stack, stack_dir: Path, progress: Progress = lambda _: None, *, wait: float = 90) -> None:
        """Create the network, then the services wave by wave (a wave's services start together,
        after the waves they depend on), then wait until every service is ready."""
        self.client.networks.create(self.network_name, driver="bridge", labels=self.labels())
        for wave in stack.start_levels():
            progress(f"starting {', '.join(wave)}")
            in_parallel(lambda name: self.client.containers.create(**self._create_args(name, stack.services[name], stack_dir)).start(), wave)
        progress("waiting for services to be healthy")
        self.wait_healthy(stack, timeout=wait)

    def _create_args(self, name: str, service: Service, stack_dir: Path) -> dict[str, Any]:
        args: dict[str, Any] = {
            "image": service.image,
            "name": self.container_name(name),
            "hostname": name,
            "labels": self.labels(name),
            "environment": service.environment,
            "ports": {f"{container}/{proto}": ("127.0.0.1", host) for host, container, proto in service.published()},
            "volumes": self._volumes(service, stack_dir),
            "restart_policy": {"Name": service.restart} if service.restart != "no" else None,
            "init": service.init,
            "read_only": service.read_only,
            "detach": True,
            # the service name is the DNS alias other services use, as under compose
            "network": self.network_name,
            "networking_config": {self.network_name: self.client.api.create_endpoint_config(aliases=[name])},
        }
        optional = {
            "command": service.command,
            "entrypoint": service.entrypoint,
            "working_dir": service.working_dir,
            "user": service.user,
            "stop_signal": service.stop_signal,
            "pids_limit": service.pids_limit,
        }
        args.update({key: value for key, value in optional.items() if value is not None})
        if service.mem_limit:
            args["mem_limit"] = size_bytes(service.mem_limit)
            args["memswap_limit"] = size_bytes(service.memswap_limit or service.mem_limit)
        if service.cpus:
            args["nano_cpus"] = int(service.cpus * 1e9)
        if service.tmpfs:
            args["tmpfs"] = {mount: "" for mount in service.tmpfs}
        if service.stop_grace_period:
            args["stop_timeout"] = int(parse_duration(service.stop_grace_period))
        if service.healthcheck:
            check = service.healthcheck
            args["healthcheck"] = {
                "test": check.test,
                "interval": _nanos(check.interval),
                "timeout": _nanos(check.timeout),
                "retries": check.retries,
                "start_period": _nanos(check.start_period),
            }
        return {key: value for key, value in args.items() if value is not None}

    def _volumes(self, service: Service, stack_dir: Path) -> dict[str, dict[str, str]]:
        volumes: dict[str, dict[str, str]] = {}
        for spec in service.volumes:
            source, target, *mode = spec.split(":")
            if source.startswith((".", "/")):
                host_path = (stack_dir / source).resolve()
                if not host_path.exists():
                    raise BreakfixError(f"volume {spec!r}: {host_path} does not exist")
                key = str(host_path)
            else:
                key = f"{self.prefix}-{source}"
                try:
                    self.client.volumes.get(key)
                except NotFound:
                    self.client.volumes.create(key, labels=self.labels())
            volumes[key] = {"bind": target, "mode": mode[0] if mode else "rw"}
        return volumes

    def wait_healthy(self, stack: Stack, timeout: float = 90) -> None:
        """Poll until every service with a healthcheck passes it and the rest are running.

        The engine runs a container's first healthcheck only one interval after start; running the
        same test in the container ourselves sees a service ready as soon as it is."""
        pending = list(stack.services)

        def all_ready() -> bool:
            nonlocal pending
            ready = in_parallel(lambda name: self._ready(name, stack.services[name]), pending)
            pending = [name for name, is_ready in zip(pending, ready, strict=True) if not is_ready]
            return not pending

        wait_until(all_ready, timeout, every=0.1, error=lambda: (
            f"services not healthy after {timeout:.0f}s: {', '.join(pending)} (see `docker logs {self.container_name(pending[0])}`)"
        ))

    def _ready(self, name: str, service: Service) -> bool:
        container = self.container(name)
        state = container.attrs["State"]
        if state["Status"] in ("exited", "dead") and service.restart == "no":
            raise BreakfixError(f"service {name} exited with code {state['ExitCode']} while starting:\n{self.logs(name, tail=5)}")
        if state["Status"] != "running" or state["Paused"]:
            return False
        if not service.healthcheck or state.get("Health", {}).get("Status") == "healthy":
            return True
        try:
            return bool(container.exec_run(service.healthcheck.command()).exit_code == 0)
        except APIError:
            if stopped_since_looked(container):  # the next round reports why
                return False
            raise

    # -- running instance -----------------------------------------------------------------------

    def container(self, service: str) -> Container:
        try:
            return self.client.containers.get(self.container_name(service))
        except NotFound:
            raise BreakfixError(f"service {service} has no container ({self.container_name(service)}): was it removed?") from None

    def exec(self, service: str, command: list[str] | str, *, user: str | None = None) -> tuple[int, str]:
        result = self.container(service).exec_run(command, user=user or "", demux=False)
        return result.exit_code, (result.output or b"").decode(errors="replace")

    def logs(self, service: str, tail: int = 50) -> str:
        return str(self.container(service).logs(tail=tail).decode(errors="replace"))

    # -- settle ---------------------------------------------------------------------------------

    def settle(self) -> list[Readiness]:
        """What must be live before a grading run: containers the engine is (re)starting, and nginx reloads."""
        from harness.settle import Readiness

        return [
            Readiness("containers to finish starting", self._starting, timeout=20),
            Readiness("nginx to finish reloading", self._nginx_reloading, timeout=10),
        ]

    def _summaries(self, *, stopped: bool = False) -> list[dict[str, Any]]:
        return list(self.client.api.containers(all=stopped, filters=self._ours()))

    def _starting(self) -> str | None:
        """Containers restarting, or running with a healthcheck not passed yet. A container stopped,
        paused or exited without a restart to come was put there (by a fault, a fake, the learner):
        nothing to wait for; the checks judge it."""
        restarting = [summary["Labels"].get(SERVICE_LABEL, summary["Id"][:12]) for summary in self._summaries(stopped=True) if summary["State"] == "restarting"]
        unhealthy = [
            summary["Id"] for summary in self._summaries()
            if "(healthy)" not in summary.get("Status", "") and "health" in summary.get("Status", "")
        ]
        failing = [name for name in in_parallel(self._failing_healthcheck, unhealthy) if name]
        busy = [f"{name} restarting" for name in restarting] + [f"{name} not healthy yet" for name in failing]
        return ", ".join(busy) or None

    def _failing_healthcheck(self, container_id: str) -> str | None:
        """The service's name while its healthcheck, run now, fails; the engine reports a passing check
        only an interval later. Bounded by the healthcheck's own timeout, so a hung service cannot hang settle."""
        try:
            container = self.client.containers.get(container_id)
        except NotFound:
            return None  # removed meanwhile: nothing to wait for
        name = container.labels.get(SERVICE_LABEL, container.name)
        healthcheck = container.attrs["Config"].get("Healthcheck") or {}
        test = healthcheck.get("Test") or ["NONE"]
        if test[0] not in ("CMD", "CMD-SHELL"):
            return None
        command = ["/bin/sh", "-c", " ".join(test[1:])] if test[0] == "CMD-SHELL" else test[1:]
        code = self.exec_bounded(container, command, max(1, (healthcheck.get("Timeout") or 30e9) / 1e9))
        return None if code is None or code == 0 else name

    def exec_bounded(self, container: Container, command: list[str], seconds: float) -> int | None:
        """Exit code of `command` in the container, killed after `seconds` (a hung service must not hang
        the caller); -1 while the container is not running, None once it is gone."""
        try:
            return int(container.exec_run(["timeout", "-s", "KILL", f"{seconds:g}", *command]).exit_code)
        except NotFound:
            return None
        except APIError:
            if stopped_since_looked(container):
                return -1
            raise

    def probe(self, service: str, command: list[str], seconds: float) -> int | None:
        """`exec_bounded` in a service's container; None when it is stopped and no restart is coming
        (put there on purpose: nothing to wait for)."""
        try:
            container = self.container(service)
        except BreakfixError:
            return None
        if container.attrs["State"]["Status"] == "restarting":
            return -1
        if container.attrs["State"]["Status"] != "running":
            return None
        return self.exec_bounded(container, command, seconds)

    def _nginx_reloading(self) -> str | None:
        in_flight = [detail for detail in in_parallel(self._nginx_in_flight, [s["Id"] for s in self._summaries()]) if detail]
        return "; ".join(in_flight) or None

    def _nginx_in_flight(self, container_id: str) -> str | None:
        """Why an nginx in this container may still serve with an older configuration, or None.

        After `nginx -s reload` returns, the master parses the configuration, starts new workers, and
        only 100 ms later tells the old ones to stop; they serve with the old configuration until they
        have finished their connections. The reload is live once the master is back waiting for signals
        (its kernel wait channel is sigsuspend) and no worker of an older generation is alive (titled
        "worker process is shutting down"). Read with `docker top`: from the host, no exec, any image."""
        try:
            listing = self.client.api.top(container_id, ps_args="-o pid,wchan:32,args")
        except (NotFound, APIError):
            return None  # not running any more: the container condition and the checks see to it
        titles = listing.get("Titles") or []
        rows = listing.get("Processes") or []
        if "WCHAN" not in titles or "COMMAND" not in titles:
            return None
        wchan, command = titles.index("WCHAN"), titles.index("COMMAND")
        masters = [row for row in rows if row[command].startswith("nginx: master process")]
        if not masters:
            return None
        name = self.client.api.inspect_container(container_id)["Config"]["Labels"].get(SERVICE_LABEL, container_id[:12])
        old = sum(1 for row in rows if row[command].startswith("nginx: worker process is shutting down"))
        if old:
            return f"{name}: {old} worker(s) of the previous configuration still finishing their connections"
        # "-" is a running task, or a kernel that hides wait channels: known only when some process shows one
        readable = any(row[wchan] not in ("-", "0", "") for row in rows)
        if readable and any("sigsuspend" not in row[wchan] for row in masters):
            return f"{name}: the nginx master is still applying a reload"
        return None

    # -- teardown -------------------------------------------------------------------------------

    def _ours(self) -> dict[str, str]:
        return {"label": f"{INSTANCE_LABEL}={self.instance}"}

    def leftovers(self) -> list[str]:
        """Everything still labelled with this instance: must be empty after teardown."""
        found = [f"container {c.name}" for c in self.client.containers.list(all=True, filters=self._ours(), ignore_removed=True)]
        found += [f"network {n.name}" for n in self.client.networks.list(filters=self._ours())]
        found += [f"volume {v.name}" for v in self.client.volumes.list(filters=self._ours())]
        return found

    def teardown(self, settle: float = 10) -> None:
        """Remove every labelled object; raise if anything survives.

        An object can outlive a sweep: the engine may still be removing a container (it vanishes
        between a listing and a look at it, and its network stays busy meanwhile), so sweeps
        repeat until one finds nothing left."""
        left: list[str] = []

        def swept() -> bool:
            nonlocal left
            self._sweep()
            left = self.leftovers()
            return not left

        wait_until(swept, settle, every=0.2, error=lambda: f"teardown left objects behind: {', '.join(left)}")

    def _sweep(self) -> None:
        for container in self.client.containers.list(all=True, filters=self._ours(), ignore_removed=True):
            remove_container(container)
        for network in self.client.networks.list(filters=self._ours()):
            try:
                network.remove()
            except NotFound:
                pass
            except APIError as exc:
                if exc.status_code != 403:
                    raise  # 403: a container still leaving it; the next sweep removes the network
        for volume in self.client.volumes.list(filters=self._ours()):
            with contextlib.suppress(NotFound):
                volume.remove(force=True)


def stopped_since_looked(container: Container) -> bool:
    """Whether an exec the engine refused was refused because the container stopped meanwhile: it
    says so with 409 when the exec is created, or with 500 ("is not running") when it starts.

    A restart policy may have started it again by the time we look (the first restart comes 100 ms
    after an OOM kill), so a new start time counts as a stop too."""
    started = container.attrs["State"].get("StartedAt")
    try:
        container.reload()
    except NotFound:
        return True
    now = container.attrs["State"]
    return bool(now["Status"] != "running" or now.get("StartedAt") != started)


def in_parallel(action: Callable[[str], T], names: list[str]) -> list[T]:
    """`action` for every name at once, results in order.

    The calls run in worker threads, which a Ctrl-C never interrupts mid-request, and an interrupt
    waits for every call already made, so whatever they create exists before the cleanup that
    follows looks for it. Interrupts are held back while the workers start: an interrupt inside
    Thread.start() (as ThreadPoolExecutor does it) leaves a running worker nobody waits for."""
    results: dict[int, T] = {}
    failures: list[BaseException] = []

    def run(index: int, name: str) -> None:
        try:
            results[index] = action(name)
        except BaseException as exc:  # handed to the caller below, whatever it is
            failures.append(exc)

    workers = [threading.Thread(target=run, args=(index, name), daemon=True) for index, name in enumerate(names)]
    held = signal.pthread_sigmask(signal.SIG_BLOCK, INTERRUPTS)  # the workers inherit the mask: only this thread takes a Ctrl-C
    try:
        for worker in workers:
            worker.start()
        # a Ctrl-C pressed while the workers started is raised the moment this unmasks: inside the guard
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        for worker in workers:
            worker.join()
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        for worker in workers:
            if worker.is_alive():  # another thread took the Ctrl-C before every worker started: wait for those that did
                worker.join()
        raise
    if failures:
        raise failures[0]
    return [results[index] for index in range(len(names))]


def remove_container(container: Container) -> None:
    """Force-remove with its anonymous volumes; a container already gone or going is fine."""
    try:
        container.remove(force=True, v=True)
    except NotFound:
        pass
    except APIError as exc:
        if "already in progress" not in str(exc):
            raise


def compose_command() -> list[str] | None:
    """The compose CLI on this machine, v2 preferred: used by benchmarks to compare against raw compose."""
    docker_cli = shutil.which("docker")
    if docker_cli:
        probe = subprocess.run([docker_cli, "compose", "version"], check=False, capture_output=True, text=True)
        if probe.returncode == 0:
            return [docker_cli, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


class ComposeStack:
    """The Runtime the lifecycle drives: one compose stack of one instance."""

    name = "docker"

    def __init__(self, docker_runtime: DockerRuntime, stack_file: Path) -> None:
        self.docker = docker_runtime
        self.stack_file = stack_file

    @cached_property
    def stack(self) -> Stack:
        """Read when needed: teardown works by label and must not need the workspace."""
        from harness.runtime.compose import load_stack

        return load_stack(self.stack_file)

    def preflight(self) -> list[str]:
        return self.docker.preflight(self.stack)

    def image_ids(self) -> list[str]:
        """The stack's images by content id: what a rebuilt image changes."""
        return [self.docker.client.images.get(image).id for image in sorted({service.image for service in self.stack.services.values()})]

    def provision(self, progress: Progress) -> None:
        self.docker.provision(self.stack, self.stack_file.parent, progress)

    def teardown(self) -> None:
        self.docker.teardown()

    def settle(self) -> list[Readiness]:
        return self.docker.settle()

    def env(self) -> dict[str, str]:
        return {"BREAKFIX_PREFIX": self.docker.prefix, "BREAKFIX_NETWORK": self.docker.network_name}
