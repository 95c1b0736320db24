"""The NodePorts this host's kube-proxy routes, and the conntrack entries dropped before grading."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from harness.runtime.kubernetes import host_routes, providers
from harness.runtime.kubernetes import runtime as kruntime
from harness.runtime.kubernetes.providers.existing import ExistingCluster
from harness.runtime.kubernetes.providers.kind import KindCluster
from harness.runtime.kubernetes.providers.offline import OfflineCluster

# `iptables -t nat -S KUBE-NODEPORTS` of a kube-proxy in iptables mode with nodePortAddresses 127.0.0.1/32
NODE_PORT_RULES = """-N KUBE-NODEPORTS
-A KUBE-NODEPORTS -d 127.0.0.1/32 -p tcp -m comment --comment "bf-spot/checkout:http" -m tcp --dport 30801 -j KUBE-EXT-6Q4ZVMVZ7QZQZ3LU
-A KUBE-NODEPORTS -d 127.0.0.1/32 -p tcp -m comment --comment "kube-system/other:http" -m tcp --dport 31999 -j KUBE-EXT-AB3ZVMVZ7QZQZ3LU
"""
CONNTRACK = ["conntrack", "-D", "-p", "tcp", "--orig-dst", "127.0.0.1", "--dport"]


class Host:
    """Which tools this host has, what its nat table lists on each iptables backend, and every command run."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, tools: set[str], chains: dict[str, str]) -> None:
        self.commands: list[list[str]] = []
        self.chains = chains
        monkeypatch.setattr(host_routes.shutil, "which", lambda tool: f"/usr/sbin/{tool}" if tool in tools else None)
        monkeypatch.setattr(host_routes.subprocess, "run", self.run)

    def run(self, args: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        self.commands.append(args)
        if args[0] in self.chains:
            return subprocess.CompletedProcess(args, 0, self.chains[args[0]], "")
        return subprocess.CompletedProcess(args, 1, "", "iptables: No chain/target/match by that name.")

    def forgotten(self) -> list[str]:
        return [c[len(CONNTRACK)] for c in self.commands if c[:len(CONNTRACK)] == CONNTRACK]


def test_the_forgotten_connections_are_the_never_nated_and_the_never_answered_to_each_node_port(monkeypatch: pytest.MonkeyPatch) -> None:
    host = Host(monkeypatch, {"conntrack"}, {})
    OfflineCluster().forget_unrouted_connections([30801, 30802])
    assert host.commands == [[*CONNTRACK, "30801", "--reply-src", "127.0.0.1"], [*CONNTRACK, "30801", "--state", "SYN_SENT"],
                             [*CONNTRACK, "30802", "--reply-src", "127.0.0.1"], [*CONNTRACK, "30802", "--state", "SYN_SENT"]]


def test_without_conntrack_nothing_is_run(monkeypatch: pytest.MonkeyPatch) -> None:
    host = Host(monkeypatch, set(), {})
    host_routes.forget_unrouted_connections([30801])
    assert host.commands == []


@pytest.mark.parametrize("backend", ["iptables", "iptables-legacy"])
def test_the_node_ports_routed_here_are_the_ones_in_the_host_kube_proxys_nat_chain_on_either_backend(
        monkeypatch: pytest.MonkeyPatch, backend: str) -> None:
    Host(monkeypatch, {"iptables", "iptables-legacy"}, {backend: NODE_PORT_RULES})
    assert host_routes.routed_here([30801, 30802]) == [30801]  # 30802: routed elsewhere; 31999: not this instance's


def test_a_host_with_no_kube_proxy_chain_or_no_iptables_routes_none(monkeypatch: pytest.MonkeyPatch) -> None:
    Host(monkeypatch, {"iptables"}, {})
    assert host_routes.routed_here([30801]) == []
    Host(monkeypatch, set(), {"iptables": NODE_PORT_RULES})
    assert host_routes.routed_here([30801]) == []


def test_an_existing_cluster_forgets_connections_only_to_the_node_ports_this_host_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A node of the user's cluster that is this machine (or the offline cluster reached as `existing`) has the
    offline cluster's conntrack trap; kind, Docker Desktop and minikube route in their own network namespaces."""
    cluster = ExistingCluster()
    assert isinstance(cluster, providers.RoutedByHost)
    host = Host(monkeypatch, {"iptables", "conntrack"}, {"iptables": NODE_PORT_RULES})
    cluster.forget_unrouted_connections([30801, 30802])
    assert host.forgotten() == ["30801", "30801"]
    elsewhere = Host(monkeypatch, {"iptables", "conntrack"}, {})
    cluster.forget_unrouted_connections([30801, 30802])
    assert elsewhere.forgotten() == []


# `iptables -t nat -S` of the offline cluster's kube-proxy (iptables mode), trimmed to the chains route_lag reads
NAT_RULES = """-N KUBE-SVC-NPX46M4PTMTKRN6Y
-N KUBE-SVC-6Q4ZVMVZ7QZQZ3LU
-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m comment --comment "default/kubernetes:https cluster IP" -m tcp --dport 443 -j KUBE-SVC-NPX46M4PTMTKRN6Y
-A KUBE-SVC-NPX46M4PTMTKRN6Y ! -s 10.244.0.0/16 -d 10.96.0.1/32 -p tcp -m comment --comment "default/kubernetes:https cluster IP" -m tcp --dport 443 -j KUBE-MARK-MASQ
-A KUBE-SVC-NPX46M4PTMTKRN6Y -m comment --comment "default/kubernetes:https -> 10.77.0.1:6443" -j KUBE-SEP-AAAAAAAAAAAAAAAA
-A KUBE-SVC-6Q4ZVMVZ7QZQZ3LU -m comment --comment "bf-spot/checkout:http -> 10.244.1.5:8080" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-BBBBBBBBBBBBBBBB
-A KUBE-SVC-6Q4ZVMVZ7QZQZ3LU -m comment --comment "bf-spot/checkout:http -> 10.244.2.7:8080" -j KUBE-SEP-CCCCCCCCCCCCCCCC
-A KUBE-SEP-CCCCCCCCCCCCCCCC -p tcp -m comment --comment "bf-spot/checkout:http" -m tcp -j DNAT --to-destination 10.244.2.7:8080
"""
API = {"10.77.0.1:6443"}
CHECKOUT = "bf-spot/checkout:http"


def test_the_routes_are_read_from_the_endpoint_rules_of_the_service_chains() -> None:
    assert host_routes.service_routes(NAT_RULES) == {"default/kubernetes:https": API, CHECKOUT: {"10.244.1.5:8080", "10.244.2.7:8080"}}


def test_no_lag_once_kube_proxy_sends_every_port_to_its_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    Host(monkeypatch, {"iptables"}, {"iptables": NAT_RULES})
    assert host_routes.route_lag("bf-spot", {CHECKOUT: {"10.244.1.5:8080", "10.244.2.7:8080"}, "bf-spot/empty:http": set()}, API) is None


def test_a_service_kube_proxy_has_not_written_yet_or_one_it_still_writes_is_lag(monkeypatch: pytest.MonkeyPatch) -> None:
    Host(monkeypatch, {"iptables", "iptables-legacy"}, {"iptables-legacy": NAT_RULES})
    assert host_routes.route_lag("bf-spot", {"bf-spot/new:http": {"10.244.1.8:80"}}, API) == (
        "bf-spot/checkout:http: kube-proxy sends to 10.244.1.5:8080, 10.244.2.7:8080, its endpoints are none; "
        "bf-spot/new:http: kube-proxy sends to nothing, its endpoints are 10.244.1.8:80")


def test_a_host_that_does_not_route_this_cluster_has_no_lag_to_wait_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """kind's or a remote cluster's API server is not the one this host's rules (if any) send to."""
    wanted = {CHECKOUT: {"10.244.9.9:8080"}}
    Host(monkeypatch, {"iptables"}, {"iptables": NAT_RULES})
    assert host_routes.route_lag("bf-spot", wanted, {"172.18.0.2:6443"}) is None
    Host(monkeypatch, set(), {})
    assert host_routes.route_lag("bf-spot", wanted, API) is None


@pytest.mark.parametrize(("provider", "waits_for_rules"), [(OfflineCluster(), True), (ExistingCluster(), True), (KindCluster(), False)])
def test_settle_waits_for_this_hosts_rules_only_on_a_provider_the_host_may_route(
        monkeypatch: pytest.MonkeyPatch, provider: providers.ClusterProvider, waits_for_rules: bool) -> None:
    """kind's kube-proxy writes in its nodes' network namespaces: its host is never asked for rules."""
    runtime = kruntime.KubernetesRuntime("spot-interruption", Path("/nowhere"), provider=provider)
    given: list[object] = []
    monkeypatch.setattr(runtime.kube, "still_changing", lambda route_lag=None: given.append(route_lag))
    assert [condition.pending() for condition in runtime.settle()] == [None]
    assert given == [host_routes.route_lag if waits_for_rules else None]
