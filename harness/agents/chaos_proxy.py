"""chaos proxy: a TCP proxy with Toxiproxy-style toxics, controlled at runtime over HTTP.

stdlib only, so it runs from the breakfix base image (mounted read-only). Toxics, as in
Toxiproxy: latency (latency, jitter ms), jitter (jitter ms), bandwidth (rate KiB/s), timeout
(timeout ms; 0 holds data until the toxic is removed), reset_peer (timeout ms, then RST),
slow_close (delay ms). Each has a stream -- upstream (client to server) or downstream (server
to client, the default) -- and a toxicity: the fraction of connections it applies to, decided
once per connection by a seeded RNG, so a run with the same seed and traffic is repeatable.

usage: chaos_proxy.py LISTEN_PORT UPSTREAM_HOST:PORT CONTROL_PORT SEED [TOXICS_JSON]
control: GET /toxics, POST /toxics {name,type,stream,toxicity,attributes}, DELETE /toxics/<name>,
         GET /stats, GET /healthz
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import struct
import sys
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING or __package__:  # imported on the host, as part of harness.agents
    from .constants import TOXIC_ATTRIBUTES, TOXIC_STREAMS
else:  # run in a container, the constants bound beside this file (harness.agents.volumes)
    from breakfix_constants import TOXIC_ATTRIBUTES, TOXIC_STREAMS


class Reset(Exception):
    """Raised inside a pipe to reset both sides of the connection."""


class Closed(Exception):
    """Raised inside a pipe to close both sides of the connection."""


class Proxy:
    def __init__(self, upstream: tuple[str, int], seed: int) -> None:
        self.upstream = upstream
        self.rng = random.Random(seed)
        self.toxics: dict[str, dict[str, Any]] = {}
        self.generation = 0  # bumps on every change, so a re-added toxic is decided anew per connection
        self.stats: Counter[str] = Counter()

    # -- toxics --------------------------------------------------------------------------------

    def add(self, spec: dict[str, Any]) -> dict[str, Any]:
        kind = spec.get("type")
        if kind not in TOXIC_ATTRIBUTES:
            raise ValueError(f"type must be one of {', '.join(TOXIC_ATTRIBUTES)}")
        stream = spec.get("stream", "downstream")
        if stream not in TOXIC_STREAMS:
            raise ValueError("stream must be upstream or downstream")
        toxicity = float(spec.get("toxicity", 1.0))
        if not 0 <= toxicity <= 1:
            raise ValueError("toxicity must be between 0 and 1")
        given = spec.get("attributes", {})
        unknown = set(given) - set(TOXIC_ATTRIBUTES[kind])
        if unknown:
            raise ValueError(f"{kind} has no attribute(s) {', '.join(sorted(unknown))}")
        values = {**TOXIC_ATTRIBUTES[kind], **{key: float(value) for key, value in given.items()}}
        if any(value < 0 for value in values.values()):
            raise ValueError("attributes must not be negative")
        self.generation += 1
        toxic = {"name": spec.get("name") or f"{kind}_{stream}", "type": kind, "stream": stream,
                 "toxicity": toxicity, "attributes": values, "generation": self.generation}
        self.toxics[toxic["name"]] = toxic
        return toxic

    def remove(self, name: str) -> bool:
        return self.toxics.pop(name, None) is not None

    # -- connections ---------------------------------------------------------------------------

    async def handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.stats["connections"] += 1
        decided: dict[tuple[str, int], bool] = {}
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            self.stats["upstream_refused"] += 1
            client_writer.close()
            return

        def active(stream: str) -> list[dict[str, Any]]:
            chosen = []
            for toxic in list(self.toxics.values()):
                key = (toxic["name"], toxic["generation"])
                if key not in decided:
                    decided[key] = self.rng.random() < toxic["toxicity"]
                    if decided[key]:
                        self.stats[f"applied:{toxic['name']}"] += 1
                if toxic["stream"] == stream and decided[key]:
                    chosen.append(toxic)
            return chosen

        pipes = [
            asyncio.ensure_future(self.pipe(client_reader, server_writer, "upstream", active)),
            asyncio.ensure_future(self.pipe(server_reader, client_writer, "downstream", active)),
        ]
        done, pending = await asyncio.wait(pipes, return_when=asyncio.FIRST_EXCEPTION)
        failure = next((task.exception() for task in done if task.exception()), None)
        for task in pending:
            if failure is not None:
                task.cancel()
        if failure is None:
            await asyncio.gather(*pending, return_exceptions=True)
        for writer in (client_writer, server_writer):
            if isinstance(failure, Reset):
                reset(writer)
            else:
                writer.close()

    async def pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, stream: str,
                   active: Callable[[str], list[dict[str, Any]]]) -> None:
        while True:
            try:
                data = await reader.read(65536)
            except ConnectionError:
                raise Reset() from None
            if not data:
                break
            for toxic in active(stream):
                await self.apply(toxic, data)
            writer.write(data)
            try:
                await writer.drain()
            except ConnectionError:
                raise Reset() from None
        for toxic in active(stream):
            if toxic["type"] == "slow_close":
                await asyncio.sleep(toxic["attributes"]["delay"] / 1000)
        if writer.can_write_eof():
            with contextlib.suppress(OSError):
                writer.write_eof()

    async def apply(self, toxic: dict[str, Any], data: bytes) -> None:
        attributes = toxic["attributes"]
        kind = toxic["type"]
        if kind == "latency":
            jitter = attributes["jitter"]
            await asyncio.sleep(max(0.0, attributes["latency"] + self.rng.uniform(-jitter, jitter)) / 1000)
        elif kind == "jitter":
            await asyncio.sleep(self.rng.uniform(0, attributes["jitter"]) / 1000)
        elif kind == "bandwidth" and attributes["rate"] > 0:
            await asyncio.sleep(len(data) / (attributes["rate"] * 1024))
        elif kind == "timeout":
            await self.hold(toxic)
        elif kind == "reset_peer":
            await asyncio.sleep(attributes["timeout"] / 1000)
            raise Reset()

    async def hold(self, toxic: dict[str, Any]) -> None:
        """Hold the data while the toxic stays; close the connection once `timeout` ms pass (0: never)."""
        waited = 0.0
        limit = toxic["attributes"]["timeout"] / 1000
        while self.toxics.get(toxic["name"]) is toxic:
            if limit and waited >= limit:
                raise Closed()
            await asyncio.sleep(0.05)
            waited += 0.05

    # -- control API ---------------------------------------------------------------------------

    async def control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await reader.readuntil(b"\r\n\r\n")
            head = request.decode("latin-1").split("\r\n")
            method, path, _ = head[0].split(" ", 2)
            length = next((int(line.split(":", 1)[1]) for line in head[1:] if line.lower().startswith("content-length:")), 0)
            body = await reader.readexactly(length) if length else b""
            status, reply = self.route(method, path, body)
        except (ValueError, asyncio.IncompleteReadError, json.JSONDecodeError) as exc:
            status, reply = 400, {"error": str(exc)}
        data = json.dumps(reply).encode()
        writer.write(f"HTTP/1.1 {status} {'OK' if status < 400 else 'Error'}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode() + data)
        await writer.drain()
        writer.close()

    def route(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        if method == "GET" and path == "/healthz":
            return 200, {"status": "ok", "upstream": f"{self.upstream[0]}:{self.upstream[1]}"}
        if method == "GET" and path == "/toxics":
            return 200, list(self.toxics.values())
        if method == "GET" and path == "/stats":
            return 200, dict(self.stats)
        if method == "POST" and path == "/toxics":
            return 200, self.add(json.loads(body or b"{}"))
        if method == "DELETE" and path.startswith("/toxics/"):
            name = path.removeprefix("/toxics/")
            return (200, {"removed": name}) if self.remove(name) else (404, {"error": f"no toxic {name}"})
        return 404, {"error": f"no route {method} {path}"}


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with SO_LINGER 0: the peer gets a TCP RST (connection reset by peer)."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def main() -> None:
    listen, upstream, control_port, seed = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    host, _, port = upstream.rpartition(":")
    proxy = Proxy((host, int(port)), seed)
    for spec in json.loads(sys.argv[5]) if len(sys.argv) > 5 else []:
        proxy.add(spec)
    data_server = await asyncio.start_server(proxy.handle, "0.0.0.0", listen)
    control_server = await asyncio.start_server(proxy.control, "0.0.0.0", control_port)
    print(f"chaos proxy :{listen} -> {upstream}, control :{control_port}, toxics {list(proxy.toxics)}", flush=True)
    async with data_server, control_server:
        await asyncio.gather(data_server.serve_forever(), control_server.serve_forever())


if __name__ == "__main__":
    asyncio.run(main())
