"""The compose-file subset a scenario stack may use, parsed and validated with pydantic.

breakfix drives the engine through the Docker SDK (one code path whatever compose version a
machine has, labels on every object, clean Ctrl-C); the stack itself stays a plain compose.yaml
that `docker compose` (v2) or `docker-compose` (v1) can also run, so the benchmarks can compare.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator

from harness.errors import BreakfixError
from harness.manifest import NoBoolNumbers, describe, load_yaml
from harness.sizes import size_bytes

# host_ip:host_port:container_port[/proto]; the host ip is mandatory so nothing listens beyond loopback
PORT = re.compile(r"^(?P<ip>[0-9.]+):(?P<host>\d{1,5}):(?P<container>\d{1,5})(?:/(?P<proto>tcp|udp))?$")
DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$|^0$")
# a service name is a container name and a DNS alias; a named volume is an engine object name
NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$")


def parse_volume(spec: str) -> tuple[str, str, str]:
    """`source:target[:ro|rw]` as (source, target, mode); a source starting with . or / is a host path."""
    parts = spec.split(":")
    source, target, mode = (*parts, "rw") if len(parts) == 2 else (parts + ["", "", ""])[:3]
    if len(parts) not in (2, 3) or not source or not target.startswith("/") or mode not in ("ro", "rw"):
        raise ValueError(f"{spec!r}: write a volume as SOURCE:/container/path or SOURCE:/container/path:ro")
    if not source.startswith((".", "/")) and not NAME.match(source):
        raise ValueError(f"{spec!r}: a host path starts with ./ or /; a named volume is letters, digits, _ . -")
    return source, target, mode


def _env_value(name: str, value: object) -> str:
    """An environment value as compose passes it: null is empty, true is "true"; a list or mapping is an error."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (str, int, float)):
        return str(value)
    raise ValueError(f"{name!r}: an environment value is a string or a number, not a {type(value).__name__}")


def is_host_path(source: str) -> bool:
    return source.startswith((".", "/"))


class Model(NoBoolNumbers):
    model_config = ConfigDict(extra="forbid")


class Healthcheck(Model):
    test: list[str]
    interval: str = "1s"
    timeout: str = "3s"
    retries: int = Field(default=30, ge=0, le=1000)
    start_period: str = "0s"

    @field_validator("interval", "timeout", "start_period")
    @classmethod
    def _duration(cls, value: str) -> str:
        if not DURATION.match(value):
            raise ValueError(f"{value!r} is not a duration like 2s, 500ms or 1m30s")
        return value

    @field_validator("test")
    @classmethod
    def _test_form(cls, test: list[str]) -> list[str]:
        if len(test) < 2 or test[0] not in ("CMD", "CMD-SHELL"):
            raise ValueError(f"{test!r}: write the test as [CMD, program, args...] or [CMD-SHELL, command]")
        return test

    def command(self) -> list[str]:
        """The test as a command to exec in the container."""
        kind, *args = self.test
        return ["/bin/sh", "-c", " ".join(args)] if kind == "CMD-SHELL" else args


class Service(Model):
    image: str = Field(min_length=1)
    command: list[str] | str | None = None
    entrypoint: list[str] | str | None = None
    environment: dict[str, str] = Field(default_factory=dict)
    ports: list[str] = Field(default_factory=list)
    volumes: list[str] = Field(default_factory=list)
    working_dir: str | None = None
    user: str | None = None
    mem_limit: str | None = None
    memswap_limit: str | None = None
    cpus: float | None = None
    pids_limit: int | None = None
    restart: Literal["no", "always", "on-failure", "unless-stopped"] = "no"
    init: bool = False
    stop_signal: str | None = None
    stop_grace_period: str | None = None
    depends_on: list[str] = Field(default_factory=list)
    healthcheck: Healthcheck | None = None
    read_only: bool = False
    tmpfs: list[str] = Field(default_factory=list)

    @field_validator("environment", mode="before")
    @classmethod
    def _env_list_to_map(cls, value: object) -> object:
        if isinstance(value, list):
            if not all(isinstance(item, str) for item in value):
                raise ValueError("write each item of an environment list as NAME=value")
            return dict(item.split("=", 1) if "=" in item else (item, "") for item in value)
        if isinstance(value, dict):
            return {str(key): _env_value(str(key), val) for key, val in value.items()}
        return value

    @field_validator("ports")
    @classmethod
    def _loopback_ports(cls, ports: list[str]) -> list[str]:
        for port in ports:
            match = PORT.match(str(port))
            if not match:
                raise ValueError(f"{port!r}: publish as '127.0.0.1:<host>:<container>' -- the host address is required")
            if match["ip"] != "127.0.0.1":
                raise ValueError(f"{port!r}: publishes on {match['ip']}; breakfix publishes on 127.0.0.1 only")
            if not (1 <= int(match["host"]) <= 65535 and 1 <= int(match["container"]) <= 65535):
                raise ValueError(f"{port!r}: a port is between 1 and 65535")
        return ports

    @field_validator("volumes")
    @classmethod
    def _volume_form(cls, volumes: list[str]) -> list[str]:
        for spec in volumes:
            parse_volume(spec)
        return volumes

    @field_validator("tmpfs")
    @classmethod
    def _tmpfs_paths(cls, paths: list[str]) -> list[str]:
        for path in paths:
            if not path.startswith("/"):
                raise ValueError(f"{path!r}: a tmpfs mount is an absolute path in the container")
        return paths

    @field_validator("stop_grace_period")
    @classmethod
    def _grace(cls, value: str | None) -> str | None:
        if value is not None and not DURATION.match(value):
            raise ValueError(f"{value!r} is not a duration like 10s")
        return value

    @field_validator("mem_limit", "memswap_limit")
    @classmethod
    def _size(cls, value: str | None) -> str | None:
        if value is not None:
            size_bytes(str(value))
        return value

    def host_paths(self) -> list[str]:
        """The host side of every bind mount, as written (relative to the stack file's folder, or absolute)."""
        return [source for source, _, _ in map(parse_volume, self.volumes) if is_host_path(source)]

    def published(self) -> list[tuple[int, int, str]]:
        """(host_port, container_port, proto) for every published port."""
        result = []
        for port in self.ports:
            match = PORT.match(port)
            assert match  # validated above
            result.append((int(match["host"]), int(match["container"]), match["proto"] or "tcp"))
        return result


class Stack(Model):
    version: str | None = None
    services: dict[str, Service] = Field(min_length=1)

    @field_validator("services")
    @classmethod
    def _names(cls, services: dict[str, Service]) -> dict[str, Service]:
        for name in services:
            if not NAME.match(name):
                raise ValueError(f"{name!r}: a service name is 1-63 letters, digits, _ . - (it names a container and a DNS alias)")
        return services

    def start_levels(self) -> list[list[str]]:
        """Services in waves: each wave depends only on earlier ones, so a wave can start at once.
        A cycle or an unknown dependency is a stack error."""
        depth: dict[str, int] = {}
        visiting: set[str] = set()

        def level(name: str, chain: tuple[str, ...]) -> int:
            if name in depth:
                return depth[name]
            if name in visiting:
                raise BreakfixError(f"services.{chain[0]}.depends_on: cycle: {' -> '.join((*chain, name))}")
            if name not in self.services:
                raise BreakfixError(f"services.{chain[-1]}.depends_on: unknown service {name!r}")
            visiting.add(name)
            depth[name] = 1 + max((level(dependency, (*chain, name)) for dependency in self.services[name].depends_on), default=-1)
            visiting.discard(name)
            return depth[name]

        for name in self.services:
            level(name, ())
        return [[name for name in self.services if depth[name] == wave] for wave in range(max(depth.values()) + 1)]


def load_stack(path: Path) -> Stack:
    """Parse and check a compose file: what starting it would trip on (a dependency cycle, a host port
    published twice) is an error now. Problems name the file and the service field."""
    try:
        stack = Stack.model_validate(load_yaml(path))
    except ValidationError as exc:
        raise BreakfixError(describe(exc, path)) from None
    try:
        stack.start_levels()
    except BreakfixError as exc:
        raise BreakfixError(f"{path}: {exc}") from None
    publishers: dict[tuple[int, str], str] = {}
    for name, service in stack.services.items():
        for host, _, proto in service.published():
            first = publishers.setdefault((host, proto), name)
            if first != name:
                raise BreakfixError(f"{path}: services.{name}.ports: host port {host}/{proto} is already published by {first}")
    return stack


def parse_duration(text: str) -> float:
    """Compose durations such as 1s, 500ms, 1m30s, in seconds."""
    total = 0.0
    for amount, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text):
        total += float(amount) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    if total == 0 and text.strip("0smh") != "":
        raise BreakfixError(f"not a duration: {text!r}")
    return total
