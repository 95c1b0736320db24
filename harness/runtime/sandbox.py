"""The sandbox coding labs grade in: the learner's code runs in a throwaway container, never on the host.

Every run gets a fresh container from the base image with the workspace read-only at /work,
the grader's files read-only at /grader, a small tmpfs at /tmp, a read-only root, no network
(unless the lab's own internal network is given), no capabilities beyond what PID 1 needs, and
memory, CPU, pids and wall-clock limits. PID 1 is harness/agents/supervisor.py: it
enforces the time limit inside the container and reports exit status, peak memory and which
limit was hit, so a loop, a fork bomb or a 10 GB allocation ends as a clear verdict, not a hung
grader. Every object is labelled `breakfix.instance=<lab id>` and removed after use.
"""

from __future__ import annotations

import json
import queue
import secrets
import shutil
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self, TypedDict, Unpack

import docker
from docker.errors import APIError, ImageNotFound, NotFound
from docker.models.containers import Container
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ReadTimeout

from harness import agents
from harness.agents.constants import BATCH_MARK, FINDINGS_MARK, SANDBOX_CONFIG_VARIABLE
from harness.errors import BreakfixError
from harness.images import BASE_IMAGE
from harness.paths import state_dir
from harness.runtime.common import INSTANCE_LABEL
from harness.runtime.docker import DockerRuntime, connect, remove_container
from harness.runtime.sandbox_results import (
    OUTPUT_LIMIT,
    CaseResult,
    Findings,
    Limits,
    RunLimits,
    RunResult,
    parse_report,
    result_from_report,
    strip_report,
)
from harness.sizes import size_bytes
from harness.timing import wait_until

# where the agents are bound: /breakfix is on a grader script's PYTHONPATH (breakfix_findings)
AGENTS = {"supervisor": "supervise.py", "findings": "breakfix_findings.py"}
BATCH = agents.DIRECTORY / "batch.py"
NOBODY = 65534  # never root: the learner cannot read PID 1's environment, signal it, or bind ports < 1024
TMPFS_SIZE = "64m"  # counts against the memory limit, so it cannot be a way around it
HOST_GRACE = 20.0  # the supervisor enforces the limit; the host only steps in if it is starved


class RunOptions(TypedDict, total=False):
    """What Sandbox.run takes besides argv: what findings(), python() and run_batch() pass through."""

    timeout: float | None
    stdin: bytes | str | Path | None
    env: Mapping[str, str] | None
    memory: str | None
    cpus: float | None
    pids: int | None
    files: Mapping[str, Path | bytes | str] | None
    network: SandboxNetwork | str | None


class SandboxFailure(AssertionError):
    """The learner's program could not be brought up (a server that never got ready): a failed
    check with a message to read, not a grader error."""


@dataclass(frozen=True)
class SandboxNetwork:
    """An internal network (no route out) the lab's containers share; pass it as network=."""

    name: str


@dataclass
class Endpoint:
    """A long-running container with a port published on 127.0.0.1: a learner server or a grader service."""

    container: Container
    url: str
    alias: str | None = None

    def logs(self, tail: int = 200) -> str:
        try:
            return strip_report(self.container.logs(tail=tail).decode(errors="replace"))
        except NotFound:
            return ""


@dataclass(frozen=True)
class _Launch:
    """How to start one long-running container (a learner's server or a grader's service)."""

    argv: list[str]
    port: int
    network: SandboxNetwork | str | None
    alias: str | None
    ready_path: str | None
    lifetime: float
    ready_timeout: float
    env: Mapping[str, str] | None
    files: Mapping[str, Path | bytes | str] | None
    memory: str | None
    learner: bool


@dataclass
class _Mounts:
    """Host paths bound into one container; bytes are written to a scratch dir removed afterwards."""

    volumes: dict[str, dict[str, str]] = field(default_factory=dict)
    scratch: Path | None = None

    def cleanup(self) -> None:
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)


class Sandbox:
    """Runs learner code and grader helpers for one lab instance. Use as a context manager or
    call close(): every container and network it made is removed."""

    def __init__(self, instance: str, workspace: Path, limits: Limits, *, client: docker.DockerClient | None = None) -> None:
        self.instance = instance
        self.workspace = workspace
        self.limits = limits  # the lab's; a run may override each
        self._client = client
        self._ingress: str | None = None
        self._reaper = _Reaper()

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            self._client = connect()
        return self._client

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one-shot runs --------------------------------------------------------------------------

    def run(
        self,
        argv: list[str],
        *,
        timeout: float | None = None,
        stdin: bytes | str | Path | None = None,
        env: Mapping[str, str] | None = None,
        memory: str | None = None,
        cpus: float | None = None,
        pids: int | None = None,
        files: Mapping[str, Path | bytes | str] | None = None,
        network: SandboxNetwork | str | None = None,
    ) -> RunResult:
        """Run `argv` in /work to completion (or to a limit) and report what happened."""
        limits = self._limits(timeout, memory, cpus, pids)
        nonce = secrets.token_hex(8)
        mounts = self._mounts(files, stdin)
        container: Container | None = None
        try:
            container = self.client.containers.create(
                **self._create_args(argv, limits, mounts, nonce, env, name=f"run-{nonce[:8]}", network=self._network_name(network))
            )
            container.start()
            timed_out_on_host = False
            try:
                container.wait(timeout=limits.seconds + HOST_GRACE)
            except (ReadTimeout, RequestsConnectionError):
                timed_out_on_host = True
                container.kill()
                container.wait(timeout=30)
            container.reload()
            stdout = _text(container.logs(stdout=True, stderr=False))
            stderr = _text(container.logs(stdout=False, stderr=True))
            return result_from_report(tuple(argv), stdout, stderr, nonce, limits, container.attrs["State"], timed_out_on_host)
        except ImageNotFound:
            raise BreakfixError(f"image {BASE_IMAGE} is missing: run `breakfix images build`") from None
        finally:
            if container is not None:
                self._reaper.discard(container.id)
            mounts.cleanup()

    def run_batch(
        self,
        cases: Mapping[str, list[str]],
        *,
        case_timeout: float = 10,
        **run_kwargs: Unpack[RunOptions],
    ) -> tuple[RunResult, dict[str, CaseResult]]:
        """Run several short commands one after another in a single container (cheaper than one
        container each). Each gets `case_timeout` s; stdout is kept up to 256 KiB per case. The
        dict is empty when the batch itself did not finish (see the RunResult's verdict)."""
        spec = json.dumps({"timeout": case_timeout, "cases": {name: list(argv) for name, argv in cases.items()}})
        all_files = {**(run_kwargs.get("files") or {}), "/breakfix/batch.py": BATCH, "/breakfix/cases.json": spec}
        run_kwargs.setdefault("timeout", case_timeout * len(cases) + 30)
        run_kwargs["files"] = all_files
        result = self.run(["python3", "/breakfix/batch.py", "/breakfix/cases.json"], **run_kwargs)
        found = result.marked_json(BATCH_MARK)
        outcomes = {name: CaseResult(**fields) for name, fields in found.items()} if isinstance(found, dict) else {}
        return result, outcomes

    def findings(self, argv: list[str], **run_kwargs: Unpack[RunOptions]) -> Findings:
        """Run a grader script built on breakfix_findings (see harness/agents/findings.py) and read its findings."""
        result = self.run(argv, **run_kwargs)
        found = result.marked_json(FINDINGS_MARK)
        return Findings(found if isinstance(found, dict) else None, result)

    def python(self, code: str, **run_kwargs: Unpack[RunOptions]) -> RunResult:
        """Run a Python snippet that imports the learner's modules from /work (function-level labs)."""
        run_kwargs["files"] = {**(run_kwargs.get("files") or {}), "_breakfix_check.py": code}
        return self.run(["python3", "/grader/_breakfix_check.py"], **run_kwargs)

    # -- long-running containers ----------------------------------------------------------------

    def network(self) -> SandboxNetwork:
        """A new internal network for this lab run: containers on it reach each other, nothing else."""
        name = f"bf-{self.instance}-net-{secrets.token_hex(3)}"
        self.client.networks.create(name, driver="bridge", internal=True, labels={INSTANCE_LABEL: self.instance})
        return SandboxNetwork(name)

    def serve(
        self,
        argv: list[str],
        *,
        port: int,
        network: SandboxNetwork | str | None = None,
        ready_path: str | None = None,
        timeout: float = 120,
        ready_timeout: float = 30,
        env: Mapping[str, str] | None = None,
        files: Mapping[str, Path | bytes | str] | None = None,
        memory: str | None = None,
    ) -> AbstractContextManager[Endpoint]:
        """The learner's server, published on an ephemeral 127.0.0.1 port, alive at most `timeout` s.
        Not ready within `ready_timeout` -> SandboxFailure with its output (a failed check)."""
        return self._long_running(_Launch(argv, port, network, None, ready_path, timeout, ready_timeout, env, files, memory, learner=True))

    def service(
        self,
        argv: list[str],
        *,
        name: str,
        network: SandboxNetwork | str,
        port: int,
        files: Mapping[str, Path | bytes | str] | None = None,
        env: Mapping[str, str] | None = None,
        ready_path: str | None = None,
        timeout: float = 600,
        ready_timeout: float = 30,
        memory: str | None = None,
    ) -> AbstractContextManager[Endpoint]:
        """A grader-owned helper (mock API, backend) reachable as `name` inside `network` and at
        endpoint.url from the grader."""
        return self._long_running(_Launch(argv, port, network, name, ready_path, timeout, ready_timeout, env, files, memory, learner=False))

    @contextmanager
    def _long_running(self, launch: _Launch) -> Iterator[Endpoint]:
        argv, port, alias, ready_path = launch.argv, launch.port, launch.alias, launch.ready_path
        network, env, learner = launch.network, launch.env, launch.learner
        limits = self._limits(launch.lifetime, launch.memory, None, None)
        nonce = secrets.token_hex(8)
        mounts = self._mounts(launch.files, None)
        label = alias or "serve"
        container: Container | None = None
        try:
            args = self._create_args(argv, limits, mounts, nonce, env, name=f"{label}-{nonce[:6]}", network=self._ingress_network())
            # ports cannot be published from an internal network: publish from the ingress bridge
            args["ports"] = {f"{port}/tcp": ("127.0.0.1", None)}
            container = self.client.containers.create(**args)
            internal = self._network_name(network)
            if internal:
                self.client.networks.get(internal).connect(container, aliases=[alias] if alias else [])
            container.start()
            container.reload()
            # a program that exits at once is gone before the engine lists its port: the wait below
            # then reports how it ended instead of a lookup failing here
            published = (container.attrs["NetworkSettings"]["Ports"] or {}).get(f"{port}/tcp")
            endpoint = Endpoint(container, f"http://127.0.0.1:{published[0]['HostPort']}" if published else "", alias)
            self._wait_ready(endpoint, port, ready_path, launch.ready_timeout, argv, learner, nonce)
            yield endpoint
        finally:
            if container is not None:
                self._reaper.discard(container.id)
            mounts.cleanup()

    def _wait_ready(self, endpoint: Endpoint, port: int, ready_path: str | None, timeout: float, argv: list[str], learner: bool, nonce: str) -> None:
        what = f"GET {ready_path} answering 2xx/3xx" if ready_path else f"listening on port {port}"

        def up_or_gone() -> str | None:
            endpoint.container.reload()
            if endpoint.container.status != "running":
                return "exited"
            return "ready" if self._is_ready(endpoint, port, ready_path) else None

        if wait_until(up_or_gone, timeout, every=0.2) == "ready":
            return
        if endpoint.container.attrs["State"]["Status"] == "running":
            exited = f"not {what} after {timeout:.0f} s"
        else:
            report = self._exit_report(endpoint.container, nonce)
            exited = f"it exited with code {report['exit_code'] if report else 'unknown'}"
        logs = self._settled_output(endpoint).strip()[-1500:] or "(no output)"
        message = f"`{' '.join(argv)}` did not come up ({exited}); its output:\n{logs}"
        if learner:
            raise SandboxFailure(message)
        raise BreakfixError(f"grader service {endpoint.alias}: {message}")

    @staticmethod
    def _settled_output(endpoint: Endpoint) -> str:
        """The server's last output. The engine copies stdout and stderr on their own, so the report
        on stderr can arrive before the program's stdout: read until two reads 0.2 s apart agree
        on some output, for 2 s at most (an empty output costs the whole bound, on a failure path)."""
        previous = endpoint.logs(tail=30)

        def agreed() -> bool:
            nonlocal previous
            current, previous = previous, endpoint.logs(tail=30)
            return current == previous and bool(current.strip())

        time.sleep(0.2)  # the first comparison too is of two reads 0.2 s apart
        wait_until(agreed, 2 - 0.2, every=0.2)
        return previous

    @staticmethod
    def _exit_report(container: Container, nonce: str) -> dict[str, Any] | None:
        """The supervisor's report of an exited server. The engine's log pipe can deliver the last
        lines after the container shows as exited; the report is the last line written, so once it
        is there the program's whole output is too."""
        return wait_until(lambda: parse_report(_text(container.logs(stdout=False, stderr=True)), nonce)[1], 5, every=0.1)

    @staticmethod
    def _is_ready(endpoint: Endpoint, port: int, ready_path: str | None) -> bool:
        if ready_path:
            try:
                with urllib.request.urlopen(endpoint.url + ready_path, timeout=2) as response:  # loopback only
                    return bool(200 <= response.status < 400)
            except (urllib.error.URLError, OSError, ValueError):
                return False
        # the host side of a published port accepts even before the program listens: ask inside
        probe = f"import socket; socket.create_connection(('127.0.0.1', {port}), 1)"
        try:
            return bool(endpoint.container.exec_run(["python3", "-c", probe]).exit_code == 0)
        except APIError:
            return False

    # -- building blocks ------------------------------------------------------------------------

    def _limits(self, timeout: float | None, memory: str | None, cpus: float | None, pids: int | None) -> RunLimits:
        base = self.limits
        if memory is not None:
            size_bytes(memory)  # a bad size is the check's error, before any container exists
        return RunLimits(memory or base.memory, cpus or base.cpus, pids or base.pids, float(timeout or base.seconds))

    def _mounts(self, files: Mapping[str, Path | bytes | str] | None, stdin: bytes | str | Path | None) -> _Mounts:
        mounts = _Mounts()
        mounts.volumes.update(agents.volumes("/breakfix", AGENTS))
        mounts.volumes[str(self.workspace.resolve())] = {"bind": "/work", "mode": "ro"}
        wanted = dict(files or {})
        if stdin is not None:
            wanted["/breakfix/stdin"] = stdin
        for name, content in wanted.items():
            target = name if name.startswith("/") else f"/grader/{name}"
            if "/.." in target or "\\" in name:
                raise BreakfixError(f"sandbox file name {name!r} must be a plain relative path")
            if isinstance(content, Path):
                if not content.exists():
                    raise BreakfixError(f"sandbox file {content} does not exist")
                source = content.resolve()
            else:
                if mounts.scratch is None:
                    mounts.scratch = state_dir() / "sandbox" / self.instance / secrets.token_hex(6)
                    mounts.scratch.mkdir(parents=True)
                source = mounts.scratch / target.strip("/").replace("/", "__")
                source.write_bytes(content.encode() if isinstance(content, str) else content)
                source.chmod(0o644)
            mounts.volumes[str(source)] = {"bind": target, "mode": "ro"}
        return mounts

    def _create_args(
        self,
        argv: list[str],
        limits: RunLimits,
        mounts: _Mounts,
        nonce: str,
        env: Mapping[str, str] | None,
        *,
        name: str,
        network: str | None,
    ) -> dict[str, Any]:
        config = {
            "argv": list(argv),
            "cwd": "/work",
            "uid": self.learner_uid(),
            "timeout": limits.seconds,
            "nonce": nonce,
            "output_limit": OUTPUT_LIMIT,
            "stdin": "/breakfix/stdin" if "/breakfix/stdin" in {m["bind"] for m in mounts.volumes.values()} else None,
        }
        environment = {
            "HOME": "/tmp",
            "LANG": "C.UTF-8",
            "PYTHONPATH": "/work:/breakfix",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
            SANDBOX_CONFIG_VARIABLE: json.dumps(config),
        }
        memory = size_bytes(limits.memory)
        args = {
            "image": BASE_IMAGE,
            "name": f"bf-{self.instance}-{name}",
            # -E -s: no PYTHON* variable, no user site; the script's directory (read-only, ours) is on
            # sys.path so the supervisor imports the constants bound beside it
            "command": ["python3", "-E", "-s", "/breakfix/supervise.py"],
            "environment": environment,
            "working_dir": "/work",
            "labels": {INSTANCE_LABEL: self.instance, "breakfix.sandbox": "1"},
            "volumes": mounts.volumes,
            "tmpfs": {"/tmp": f"size={TMPFS_SIZE},mode=1777"},
            "read_only": True,
            "network_mode": None if network else "none",
            "network": network,
            "mem_limit": memory,
            "memswap_limit": memory,  # no swap: the limit is the limit
            "nano_cpus": int(limits.cpus * 1e9),
            "pids_limit": limits.pids,
            "cap_drop": ["ALL"],
            "cap_add": ["SETUID", "SETGID", "KILL"],  # PID 1 drops to `nobody` and ends leftovers
            "security_opt": ["no-new-privileges"],
            "log_config": {"type": "json-file", "config": {"max-size": "20m", "max-file": "1"}},
            "detach": True,
        }
        return {key: value for key, value in args.items() if value is not None}

    def learner_uid(self) -> int:
        """The workspace owner, so a private workspace stays readable; `nobody` when root owns it."""
        owner = self.workspace.stat().st_uid
        return owner if owner != 0 else NOBODY

    def _network_name(self, network: SandboxNetwork | str | None) -> str | None:
        if network is None:
            return None
        return network.name if isinstance(network, SandboxNetwork) else network

    def _ingress_network(self) -> str:
        """A bridge without NAT to the outside, only so ports can be published on 127.0.0.1."""
        if self._ingress is None:
            name = f"bf-{self.instance}-ingress-{secrets.token_hex(3)}"
            self.client.networks.create(
                name,
                driver="bridge",
                labels={INSTANCE_LABEL: self.instance},
                options={"com.docker.network.bridge.enable_ip_masquerade": "false"},
            )
            self._ingress = name
        return self._ingress

    def close(self) -> None:
        """Wait for pending removals, then remove everything labelled with this lab instance (also
        what a crash left) and prove nothing is left."""
        self._reaper.join()
        if self._client is None:
            return  # nothing was ever created
        DockerRuntime(self.instance, self.client).teardown()
        self._ingress = None
        shutil.rmtree(state_dir() / "sandbox" / self.instance, ignore_errors=True)


class _Reaper:
    """Removes finished containers on a background thread with its own engine client, so the next
    run does not wait the second a removal takes; join() waits for all of them."""

    def __init__(self) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._client: docker.DockerClient | None = None

    def discard(self, container_id: str) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="sandbox-reaper", daemon=True)
            self._thread.start()
        self._queue.put(container_id)

    def _work(self) -> None:
        while (container_id := self._queue.get()) is not None:
            try:
                self._client = self._client or connect()
                remove_container(self._client.containers.prepare_model({"Id": container_id}))
            except Exception:  # noqa: BLE001,S110 -- a failed removal is retried by close(): teardown by label proves nothing is left
                pass

    def join(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self._client is not None:
            self._client.close()
            self._client = None


def _text(data: bytes) -> str:
    return data.decode(errors="replace")

