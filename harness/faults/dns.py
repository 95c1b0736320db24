"""DNS faults: what goes wrong between a zone's master file and the answer a client gets.

- dns-record-drift: a record of a zone changes at its authoritative server (a wrong address, an
  old one put back), the serial is bumped and the server reloads, as a botched zone edit does;
- dns-stale-cache: a record changed at the authoritative server while a recursive resolver still
  holds the old answer behind a long TTL: the zone is right, every client of the resolver is not.
  Injected as it happens: the old value with a long TTL is served, a query through the resolver
  caches it, then the zone is put back to its current value (serial bumped again).

Both edit a zone file in RFC 1035 master format inside the server's container (NSD, bind9 and knot
read the same format) and run the server's reload command; the value can be a literal or the
address of one of the stack's services, resolved when the fault is injected.
"""

from __future__ import annotations

import base64
import re
from typing import Literal, TypeVar

from pydantic import Field, model_validator

from harness.errors import BreakfixError
from harness.faults import Fault, FaultContext, FaultParams, register
from harness.faults.files import read_file, run_reload, write_file

RecordType = Literal["A", "AAAA", "CNAME", "TXT", "MX", "NS"]
_SOA_SERIAL = re.compile(r"(\bSOA\s+\S+\s+\S+\s*\(?\s*)(\d+)", re.IGNORECASE)
_CLASSES = {"IN", "CH", "HS"}


def fqdn(name: str, origin: str) -> str:
    """`name` as an absolute name, lower-case with the trailing dot: '@' and relative names take `origin`."""
    origin = origin.rstrip(".").lower()
    if name == "@":
        return f"{origin}." if origin else "."
    if name.endswith("."):
        return name.lower()
    return f"{name.lower()}.{origin}." if origin else f"{name.lower()}."


def set_record(zone: str, origin: str, name: str, rtype: str, value: str, ttl: int | None = None) -> str:
    """The zone text with every `name` `rtype` record replaced by one record of `value` (with `ttl`,
    else the first replaced record's TTL, else the zone's default); appended when there was none.

    Owners carry over to continuation lines without one, $ORIGIN changes the origin, and lines inside
    parentheses (a multi-line SOA) are never records of their own."""
    target = fqdn(name, origin)
    current_origin, owner, depth = origin, "", 0
    kept: list[str] = []
    replaced_at: int | None = None
    old_ttl: str | None = None
    for line in zone.splitlines(keepends=True):
        content = line.split(";", 1)[0]
        tokens = content.split()
        continued = depth > 0
        depth += content.count("(") - content.count(")")
        if continued or not tokens:
            kept.append(line)
            continue
        if tokens[0].upper() == "$ORIGIN" and len(tokens) > 1:
            current_origin = tokens[1]
            kept.append(line)
            continue
        if tokens[0].startswith("$"):
            kept.append(line)
            continue
        if not line[0].isspace():
            owner, tokens = fqdn(tokens[0], current_origin), tokens[1:]
        fields = list(tokens)
        ttl_field = fields.pop(0) if fields and fields[0].isdigit() else None
        if fields and fields[0].upper() in _CLASSES:
            fields.pop(0)
        if owner == target and fields and fields[0].upper() == rtype.upper():
            if replaced_at is None:
                replaced_at, old_ttl = len(kept), ttl_field
            continue
        kept.append(line)
    chosen = str(ttl) if ttl is not None else old_ttl
    record = f"{target}{' ' + chosen if chosen else ''} IN {rtype.upper()} {value}\n"
    if replaced_at is None:
        if kept and not kept[-1].endswith("\n"):
            kept[-1] += "\n"
        kept.append(record)
    else:
        kept.insert(replaced_at, record)
    return "".join(kept)


def bump_serial(zone: str, by: int = 1) -> str:
    """The zone with its SOA serial increased (secondaries and caches see a new version of the zone)."""
    if not _SOA_SERIAL.search(zone):
        raise BreakfixError("the zone has no SOA record whose serial could be bumped")
    return _SOA_SERIAL.sub(lambda match: f"{match.group(1)}{int(match.group(2)) + by}", zone, count=1)


class ZoneParams(FaultParams):
    """Where the record lives: a zone file in the authoritative server's container, and how it reloads."""

    service: str = Field(description="the service running the authoritative server")
    zone_file: str = Field(pattern=r"^/", description="the zone's master file inside that container")
    origin: str = Field(min_length=1, description="the zone's name, e.g. payments.test")
    reload: list[str] = Field(min_length=1, description="run in the server's container after each edit, e.g. [nsd-control, reload, payments.test]")
    name: str = Field(min_length=1, description="the record's owner: relative to origin, or absolute with a trailing dot")
    type: RecordType = "A"


class ValueParams(FaultParams):
    """A record value: written out, or the address of a service of the stack."""

    value: str | None = None
    value_of: str | None = Field(default=None, description="a service whose address (on the instance's network) is the value")

    @model_validator(mode="after")
    def _one_value(self) -> ValueParams:
        if (self.value is None) == (self.value_of is None):
            raise ValueError("give exactly one of value or value_of")
        return self


class ZoneValueParams(ZoneParams, ValueParams):
    """A record of a zone, and the value a fault gives it."""


class RecordDriftParams(ZoneValueParams):
    ttl: int | None = Field(default=None, ge=0, le=2147483647, description="the drifted record's TTL (default: the record's own)")


class StaleCacheParams(ZoneValueParams):
    ttl: int = Field(default=86400, ge=60, le=604800, description="the TTL the stale answer is cached with")
    resolver: str = Field(description="the service running the caching resolver")
    query: list[str] = Field(default_factory=lambda: ["dig", "@127.0.0.1", "+short"], min_length=1,
                             description="run in the resolver with the name and type appended; prints the answer")
    flush: list[str] = Field(default_factory=lambda: ["unbound-control", "flush"], min_length=1,
                             description="run in the resolver with the name appended, to drop its cached answer (before the old one is cached, and at revert)")


def service_address(ctx: FaultContext, service: str) -> str:
    """The service's container address on the instance's network."""
    networks = ctx.docker.container(service).attrs["NetworkSettings"]["Networks"]
    address = (networks.get(ctx.docker.network_name) or {}).get("IPAddress")
    if not address:
        raise BreakfixError(f"service {service} has no address on {ctx.docker.network_name}: is it running?")
    return str(address)


ZP = TypeVar("ZP", bound=ZoneValueParams)


class _ZoneFault(Fault[ZP]):
    """Keeps the zone file as found at the first inject; revert writes it back and reloads."""

    live_state = "the zone the DNS server was given in its container"

    def _saved(self, ctx: FaultContext) -> dict[str, str] | None:
        """The undo state of this fault on the server's current container. A zone holds the addresses of
        the containers it was rendered for, so an original kept from a container since replaced (a
        re-provision) is not this one's."""
        saved = ctx.load(self.key)
        if saved is None or saved.get("container") != ctx.docker.container(self.params.service).id:
            return None
        return dict(saved)

    def _original(self, ctx: FaultContext) -> str:
        saved = self._saved(ctx)
        if saved is not None:
            return base64.b64decode(saved["original"]).decode()
        data = read_file(ctx.docker, self.params.service, self.params.zone_file)
        if data is None:
            raise BreakfixError(f"{self.kind}: no zone file {self.params.zone_file} in service {self.params.service}")
        ctx.save(self.key, {"original": base64.b64encode(data).decode(), "container": ctx.docker.container(self.params.service).id})
        return data.decode()

    def _value(self, ctx: FaultContext) -> str:
        params = self.params
        return params.value if params.value is not None else service_address(ctx, str(params.value_of))

    def _serve(self, ctx: FaultContext, zone: str) -> None:
        write_file(ctx.docker, self.params.service, self.params.zone_file, zone.encode())
        # an archive write keeps the archive's mtime, and servers such as NSD reload a zone file only
        # when its mtime moved: a second edit would go unseen
        ctx.docker.exec(self.params.service, ["touch", self.params.zone_file])
        run_reload(ctx, self.kind, self.params.service, self.params.reload)

    def _drifted(self, ctx: FaultContext, zone: str, ttl: int | None) -> str:
        params = self.params
        return bump_serial(set_record(zone, params.origin, params.name, params.type, self._value(ctx), ttl))

    def _restore(self, ctx: FaultContext) -> bool:
        saved = self._saved(ctx)
        if saved is None:
            ctx.forget(self.key)
            return False
        self._serve(ctx, base64.b64decode(saved["original"]).decode())
        ctx.forget(self.key)
        return True


@register
class RecordDrift(_ZoneFault[RecordDriftParams]):
    kind = "dns-record-drift"

    def inject(self, ctx: FaultContext) -> None:
        self._serve(ctx, self._drifted(ctx, self._original(ctx), self.params.ttl))

    def revert(self, ctx: FaultContext) -> None:
        self._restore(ctx)



@register
class StaleCache(_ZoneFault[StaleCacheParams]):
    kind = "dns-stale-cache"
    live_state = "the answer cached in the resolver's memory"

    def inject(self, ctx: FaultContext) -> None:
        params = self.params
        original = self._original(ctx)
        stale = self._value(ctx)
        name = fqdn(params.name, params.origin)
        self._serve(ctx, self._drifted(ctx, original, params.ttl))
        # whatever the resolver holds now (the baseline's lookups cached the current answer) goes first:
        # the old answer is the one it cached before the change
        ctx.docker.exec(params.resolver, [*params.flush, name])
        code, output = ctx.docker.exec(params.resolver, [*params.query, name, params.type])
        answers = output.split()
        if code != 0 or stale not in answers:
            raise BreakfixError(f"{self.kind}: the resolver in {params.resolver} did not take the old answer {stale} (it said: {output.strip()[:200]})")
        self._serve(ctx, bump_serial(original, by=2))  # the zone moved on; the resolver's copy did not

    def revert(self, ctx: FaultContext) -> None:
        if self._restore(ctx):
            params = self.params
            ctx.docker.exec(params.resolver, [*params.flush, fqdn(params.name, params.origin)])

