"""DNS fault kinds: the zone editing they rest on, their parameters, and inject/revert against a
simulated authoritative server and caching resolver (files and commands recorded, answers cached)."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness.errors import BreakfixError
from harness.faults import FaultContext, build, dns
from harness.manifest import FaultSpec

ZONE = """$ORIGIN payments.test.
$TTL 3600
@       IN SOA  ns1.payments.test. hostmaster.payments.test. (
                2026120101 ; serial
                3600 900 604800
                300 )      ; api IN A 10.9.9.9 in a comment is no record
        IN NS   ns1
ns1     IN A    10.0.0.2
api     300 IN A    10.0.0.7
        IN TXT  "owner carried over"
www     300 IN A    10.0.0.7
"""
ZONE_FILE = "/etc/nsd/zones/payments.test.zone"
COMMON = {"service": "auth", "zone_file": ZONE_FILE, "origin": "payments.test", "reload": ["nsd-control", "reload", "payments.test"], "name": "api"}


def records(zone: str, owner: str) -> list[str]:
    return [line for line in zone.splitlines() if line.split(";")[0].split()[:1] == [owner]]


def test_fqdn_reads_relative_absolute_and_apex_names() -> None:
    assert dns.fqdn("api", "payments.test") == "api.payments.test."
    assert dns.fqdn("API.payments.test.", "other") == "api.payments.test."
    assert dns.fqdn("@", "payments.test.") == "payments.test."


def test_set_record_replaces_the_one_record_and_keeps_the_rest() -> None:
    edited = dns.set_record(ZONE, "payments.test", "api", "A", "10.0.0.3", ttl=86400)
    assert "api.payments.test. 86400 IN A 10.0.0.3" in edited
    assert "api     300 IN A    10.0.0.7" not in edited
    # the TXT line below api keeps api as its owner and stays; www and the SOA comment are untouched
    assert '        IN TXT  "owner carried over"' in edited and "www     300 IN A    10.0.0.7" in edited
    assert "api IN A 10.9.9.9 in a comment" in edited
    assert edited.index("api.payments.test. 86400") < edited.index("IN TXT")  # in place, not appended


def test_set_record_keeps_the_old_ttl_and_appends_a_missing_record() -> None:
    assert "api.payments.test. 300 IN A 10.0.0.3" in dns.set_record(ZONE, "payments.test", "api", "A", "10.0.0.3")
    added = dns.set_record(ZONE, "payments.test", "new", "CNAME", "www", ttl=60)
    assert added.endswith("new.payments.test. 60 IN CNAME www\n") and added.startswith(ZONE)


def test_origin_directives_and_the_soa_body_are_respected() -> None:
    zone = ZONE + "$ORIGIN sub.payments.test.\napi 60 IN A 10.1.1.1\n"
    edited = dns.set_record(zone, "payments.test", "api.sub", "A", "10.1.1.2")
    assert "api.sub.payments.test. 60 IN A 10.1.1.2" in edited and "api     300 IN A    10.0.0.7" in edited


def test_bump_serial_increments_only_the_soa_serial() -> None:
    bumped = dns.bump_serial(ZONE, by=2)
    assert "2026120103 ; serial" in bumped and bumped.replace("2026120103", "2026120101") == ZONE
    with pytest.raises(BreakfixError, match="no SOA"):
        dns.bump_serial("api IN A 10.0.0.1\n")


@pytest.mark.parametrize(
    ("kind", "params", "problem"),
    [
        ("dns-record-drift", {**COMMON}, "exactly one of value or value_of"),
        ("dns-record-drift", {**COMMON, "value": "10.0.0.1", "value_of": "api"}, "exactly one of value or value_of"),
        ("dns-record-drift", {**COMMON, "value": "x", "zone_file": "relative.zone"}, "zone_file"),
        ("dns-stale-cache", {**COMMON, "value_of": "api"}, "resolver"),
        ("dns-stale-cache", {**COMMON, "value_of": "api", "resolver": "r", "ttl": 5}, "ttl"),
        ("dns-stale-cache", {**COMMON, "value_of": "api", "resolver": "r", "type": "SRV"}, "type"),
    ],
)
def test_bad_params_are_refused_at_load(kind: str, params: dict[str, Any], problem: str) -> None:
    with pytest.raises(BreakfixError, match=problem):
        build(FaultSpec(kind=kind, params=params), 0)


class Servers:
    """An authoritative server's zone file and a resolver's cache, driven by the commands the faults run."""

    def __init__(self) -> None:
        self.files = {("auth", ZONE_FILE): ZONE.encode()}
        self.served = ZONE  # what the server answers from: the file as of the last reload
        self.cache: dict[str, str] = {}
        self.calls: list[tuple[str, list[str]]] = []
        self.network_name = "bf-unit"
        self.generation = 1  # a re-provision replaces every container

    def exec(self, service: str, command: list[str]) -> tuple[int, str]:
        self.calls.append((service, command))
        if command[0] == "nsd-control":
            self.served = self.files[(service, ZONE_FILE)].decode()
        elif command[:2] == ["unbound-control", "flush"]:
            self.cache.pop(command[2], None)
        elif command[0] == "dig":
            name = command[-2]
            if name not in self.cache:
                match = re.search(r"^api\S*\s+(?:\d+\s+)?IN A\s+(\S+)", self.served, re.MULTILINE)
                self.cache[name] = match.group(1) if match else ""
            return 0, self.cache[name] + "\n"
        return 0, ""

    def container(self, service: str) -> Any:
        address = {"api": "10.0.0.3"}.get(service, "10.0.0.2")
        return SimpleNamespace(id=f"{service}-{self.generation}", attrs={"NetworkSettings": {"Networks": {"bf-unit": {"IPAddress": address}}}})


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> Servers:
    fake = Servers()
    monkeypatch.setattr(dns, "read_file", lambda docker, service, path: fake.files.get((service, path)))
    monkeypatch.setattr(dns, "write_file", lambda docker, service, path, data: fake.files.__setitem__((service, path), data))
    return fake


def context(tmp_path: Path, servers: Servers) -> FaultContext:
    return FaultContext("unit", tmp_path / "entry", tmp_path / "state", docker_runtime=servers)  # type: ignore[arg-type]


def test_stale_cache_leaves_the_zone_right_and_the_resolver_wrong(tmp_path: Path, servers: Servers) -> None:
    servers.cache["api.payments.test."] = "10.0.0.7"  # the baseline's lookups cached the current answer
    ctx = context(tmp_path, servers)
    fault = build(FaultSpec(kind="dns-stale-cache", params={**COMMON, "value_of": "api", "resolver": "resolver"}), 0)
    fault.inject(ctx)
    assert servers.cache["api.payments.test."] == "10.0.0.3", "the resolver holds the old address"
    zone = servers.files[("auth", ZONE_FILE)].decode()
    assert records(zone, "api") == ["api     300 IN A    10.0.0.7"] and "2026120103 ; serial" in zone, "the zone moved on, serial bumped twice"
    assert servers.served == zone, "the server reloaded the final zone"
    assert ("auth", ["touch", ZONE_FILE]) in servers.calls, "every write moves the mtime NSD reloads by"
    fault.inject(ctx)  # idempotent: the original is kept from the first inject
    fault.revert(ctx)
    assert servers.files[("auth", ZONE_FILE)] == ZONE.encode() and "api.payments.test." not in servers.cache
    fault.revert(ctx)  # a second revert has nothing left to undo
    assert servers.calls[-1][0] == "resolver"


def test_stale_cache_refuses_a_resolver_that_did_not_cache_the_old_answer(tmp_path: Path, servers: Servers) -> None:
    servers.exec = lambda service, command: (0, "10.0.0.7\n") if command[0] == "dig" else (0, "")  # type: ignore[method-assign]
    fault = build(FaultSpec(kind="dns-stale-cache", params={**COMMON, "value": "10.0.0.3", "resolver": "resolver"}), 0)
    with pytest.raises(BreakfixError, match="did not take the old answer 10.0.0.3"):
        fault.inject(context(tmp_path, servers))


def test_record_drift_serves_the_new_value_until_reverted(tmp_path: Path, servers: Servers) -> None:
    ctx = context(tmp_path, servers)
    fault = build(FaultSpec(kind="dns-record-drift", params={**COMMON, "value": "10.0.0.99", "ttl": 60}), 0)
    fault.inject(ctx)
    assert "api.payments.test. 60 IN A 10.0.0.99" in servers.served and "2026120102 ; serial" in servers.served
    fault.revert(ctx)
    assert servers.served == ZONE


def test_an_original_kept_from_a_replaced_container_is_not_restored(tmp_path: Path, servers: Servers) -> None:
    """verify re-provisions between fakes without a revert: the next container's zone has other addresses."""
    ctx = context(tmp_path, servers)
    fault = build(FaultSpec(kind="dns-record-drift", params={**COMMON, "value": "10.0.0.99"}), 0)
    fault.inject(ctx)
    servers.generation += 1
    fresh = ZONE.replace("10.0.0.7", "10.0.0.8")
    servers.files[("auth", ZONE_FILE)] = fresh.encode()
    fault.inject(ctx)
    fault.revert(ctx)
    assert servers.files[("auth", ZONE_FILE)] == fresh.encode()
