"""Network faults in user space (the kernel may have no netem): a TCP chaos proxy between services.

`chaos-proxy` starts a proxy container (harness/agents/chaos_proxy.py, from the base
image) on the instance network, forwarding to the real service, and points the clients at it:
a line in each client container's /etc/hosts maps the service's name to the proxy, which the
resolver reads before DNS. Why not move the service's DNS alias to the proxy instead: the
engine also resolves a container's hostname, which compose-style stacks set to the service
name, so the real container would keep answering to that name. The service itself is not
touched: its published ports, its own connections to other services and its name for every
container not listed as a client stay as they were. Clients that resolve a name only once
(nginx with a static upstream) need `reload` to pick up the proxy. The engine rewrites a
container's /etc/hosts when it starts, so a client that restarts talks directly again until
the fault is injected again (inject completes whatever is missing).

The toxics can be changed at runtime through the proxy's control API (`toxics`,
`add_toxic`, `remove_toxic` here, or curl inside the proxy container on port 8474).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from docker.models.containers import Container
from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness import agents
from harness.agents.constants import TOXIC_ATTRIBUTES
from harness.errors import BreakfixError
from harness.faults import Fault, FaultContext, FaultParams, register
from harness.faults.container import AGENT_DIR, remove_helper
from harness.faults.files import run_reload
from harness.images import BASE_IMAGE
from harness.runtime.common import INSTANCE_LABEL, SERVICE_LABEL
from harness.timing import wait_until

CONTROL_PORT = 8474  # Toxiproxy's
HOSTS_MARK = "# breakfix chaos-proxy"


class Toxic(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    type: Literal["latency", "jitter", "bandwidth", "timeout", "reset_peer", "slow_close"]
    stream: Literal["upstream", "downstream"] = "downstream"
    toxicity: float = Field(default=1.0, ge=0, le=1, description="fraction of connections the toxic applies to")
    attributes: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_attributes(self) -> Toxic:
        unknown = set(self.attributes) - set(TOXIC_ATTRIBUTES[self.type])
        if unknown:
            raise ValueError(f"{self.type} has no attribute(s) {', '.join(sorted(unknown))} (it has {', '.join(TOXIC_ATTRIBUTES[self.type])})")
        if any(value < 0 for value in self.attributes.values()):
            raise ValueError("toxic attributes must not be negative")
        return self


class ChaosProxyParams(FaultParams):
    service: str = Field(description="the upstream the proxy stands in front of")
    port: int = Field(ge=1, le=65535, description="the port clients use; the proxy listens on it too")
    clients: list[str] | None = Field(default=None, description="services whose traffic to `service` goes through the proxy; default: all others")
    toxics: list[Toxic] = Field(default_factory=list)
    seed: int = 0
    reload_service: str | None = None
    reload: list[str] | None = Field(default=None, description="run in reload_service after the switch, e.g. nginx -s reload")

    @model_validator(mode="after")
    def _reload_pair(self) -> ChaosProxyParams:
        if (self.reload is None) != (self.reload_service is None):
            raise ValueError("give reload and reload_service together")
        return self


def proxy_service(service: str) -> str:
    return f"chaos-proxy-{service}"


def control(ctx: FaultContext, service: str, method: str, path: str, body: Any = None) -> Any:
    """Call the proxy's control API from inside its container (no port is published for it)."""
    command = ["curl", "-sS", "-X", method, f"http://127.0.0.1:{CONTROL_PORT}{path}"]
    if body is not None:
        command += ["-H", "Content-Type: application/json", "--data", json.dumps(body)]
    code, output = ctx.docker.exec(proxy_service(service), command)
    if code != 0:
        raise BreakfixError(f"chaos proxy of {service}: {method} {path} failed: {output.strip()}")
    reply = json.loads(output)
    if isinstance(reply, dict) and "error" in reply:
        raise BreakfixError(f"chaos proxy of {service}: {method} {path}: {reply['error']}")
    return reply


def toxics(ctx: FaultContext, service: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = control(ctx, service, "GET", "/toxics")
    return found


def add_toxic(ctx: FaultContext, service: str, toxic: Toxic) -> dict[str, Any]:
    """Add or replace (same name) a toxic on a running proxy."""
    added: dict[str, Any] = control(ctx, service, "POST", "/toxics", toxic.model_dump(exclude_none=True))
    return added


def remove_toxic(ctx: FaultContext, service: str, name: str) -> None:
    control(ctx, service, "DELETE", f"/toxics/{name}")


def proxy_stats(ctx: FaultContext, service: str) -> dict[str, int]:
    stats: dict[str, int] = control(ctx, service, "GET", "/stats")
    return stats


# /etc/hosts is a file bind-mounted by the engine: it can be rewritten in place, not replaced
_UNMAP = f"grep -v '{HOSTS_MARK}$' /etc/hosts > /tmp/.breakfix-hosts; cat /tmp/.breakfix-hosts > /etc/hosts; rm -f /tmp/.breakfix-hosts"


def point_clients(ctx: FaultContext, clients: list[str], name: str, address: str | None) -> None:
    """Map `name` to `address` in each client's /etc/hosts (None: remove the mapping)."""
    for client in clients:
        command = _UNMAP
        if address is not None:
            command += f" && echo '{address}\t{name} {HOSTS_MARK}' >> /etc/hosts"
        code, output = ctx.docker.exec(client, ["sh", "-c", command])
        if code != 0:
            raise BreakfixError(f"chaos-proxy: cannot edit /etc/hosts in {client}: {output.strip()}")


@register
class ChaosProxy(Fault[ChaosProxyParams]):
    kind = "chaos-proxy"

    def clients(self, ctx: FaultContext) -> list[str]:
        params = self.params
        if params.clients is not None:
            return params.clients
        found = []
        ours = {"label": [f"{INSTANCE_LABEL}={ctx.docker.instance}", SERVICE_LABEL]}
        for container in ctx.docker.client.containers.list(filters=ours):
            service = container.labels.get(SERVICE_LABEL, "")
            if container.name == ctx.docker.container_name(service) and service != params.service and not service.startswith("chaos-"):
                found.append(service)
        return sorted(found)

    def inject(self, ctx: FaultContext) -> None:
        params = self.params
        try:
            proxy = ctx.docker.container(proxy_service(params.service))
        except BreakfixError:
            proxy = self._start_proxy(ctx)
        self._wait_ready(ctx)
        proxy.reload()
        saved = ctx.load(self.key)
        clients = saved["clients"] if saved else self.clients(ctx)
        ctx.save(self.key, {"clients": clients})
        # mapping is idempotent (old lines go first), so an inject cut short is completed by the next
        point_clients(ctx, clients, params.service, proxy.attrs["NetworkSettings"]["Networks"][ctx.docker.network_name]["IPAddress"])
        self._reload(ctx)

    def _start_proxy(self, ctx: FaultContext) -> Container:
        params = self.params
        ctx.docker.container(params.service)  # a clear error when the upstream does not exist
        name = proxy_service(params.service)
        command = ["python3", f"{AGENT_DIR}/chaos_proxy.py", str(params.port), f"{params.service}:{params.port}",
                   str(CONTROL_PORT), str(params.seed), json.dumps([toxic.model_dump(exclude_none=True) for toxic in params.toxics])]
        proxy = ctx.docker.client.containers.create(
            BASE_IMAGE, command,
            name=ctx.docker.container_name(name),
            hostname=name,
            labels=ctx.docker.labels(name),
            volumes=agents.volumes(AGENT_DIR, {"chaos_proxy": "chaos_proxy.py"}),
            init=True,
            detach=True,
            network=ctx.docker.network_name,
        )
        proxy.start()
        return proxy

    def _wait_ready(self, ctx: FaultContext) -> None:
        service = self.params.service

        def answering() -> bool:
            try:
                control(ctx, service, "GET", "/healthz")
                return True
            except (BreakfixError, ValueError):
                return False

        wait_until(answering, 15, every=0.1, error=lambda: (
            f"chaos proxy of {service} did not come up in 15 s:\n{ctx.docker.logs(proxy_service(service), tail=5)}"
        ))

    def _reload(self, ctx: FaultContext) -> None:
        params = self.params
        if params.reload and params.reload_service:
            run_reload(ctx, self.kind, params.reload_service, params.reload)

    def revert(self, ctx: FaultContext) -> None:
        params = self.params
        saved = ctx.load(self.key)
        if saved is not None:
            point_clients(ctx, saved["clients"], params.service, None)
        remove_helper(ctx, proxy_service(params.service))
        if saved is not None:
            self._reload(ctx)
            ctx.forget(self.key)
