"""NodePorts this host's own kube-proxy routes, whether its rules have caught up with the Services'
endpoints, and the conntrack entries that trap probes sent to them.

The offline cluster's kube-proxy runs on the host, so every NodePort of it goes through the host's
nat table and conntrack. An existing cluster can be one too (a kubeadm or k3s node that is this
machine, or the offline cluster reached through its kubeconfig); kind, Docker Desktop and minikube
route inside their own network namespaces, and the host holds no rule for their NodePorts.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable

from harness.loopback import HOST

_NODE_PORT_RULE = re.compile(r"--dport (\d+)\b")
# `-A KUBE-SVC-... -m comment --comment "ns/svc:port -> 10.244.1.5:8080" [-m statistic ...] -j KUBE-SEP-...`: one per endpoint
_ENDPOINT_RULE = re.compile(r'^-A KUBE-SV[CL]-\S+ .*--comment "?([^"\s]+) -> ([^"\s]+)"? .*-j KUBE-SEP-', re.MULTILINE)
API_SERVICE = "kubernetes"  # in `default`: the API server's Service, which kube-proxy routes like any other
API_SERVICE_PORT = f"default/{API_SERVICE}:https"


def _nat_rules(chain: str | None = None) -> list[str]:
    """This host's nat table (or one chain of it) on each iptables backend that has one: kube-proxy writes to
    the backend it detects."""
    listings = []
    for iptables in filter(shutil.which, ("iptables", "iptables-legacy")):
        listed = subprocess.run([iptables, "-w", "5", "-t", "nat", "-S", *([chain] if chain else [])], check=False, capture_output=True, text=True)
        if listed.returncode == 0:  # otherwise no such chain: no kube-proxy of this host on that backend
            listings.append(listed.stdout)
    return listings


def service_routes(rules: str) -> dict[str, set[str]]:
    """The endpoints kube-proxy's iptables rules send each Service port to, keyed "ns/svc:port"."""
    routes: dict[str, set[str]] = {}
    for service_port, endpoint in _ENDPOINT_RULE.findall(rules):
        routes.setdefault(service_port, set()).add(endpoint)
    return routes


def route_lag(namespace: str, endpoints: dict[str, set[str]], api_endpoints: set[str]) -> str | None:
    """Where this host's kube-proxy does not yet send the namespace's Service ports to their `endpoints`, or
    None once it does -- or when the host does not route this cluster at all: its rules for the API
    server's Service are not `api_endpoints` (kind, Docker Desktop, a remote cluster).

    A Service whose rules are not written yet is rejected, its NodePort refuses: the offline cluster's
    kube-proxy wrote spot-interruption's a moment after its pods were ready, and the first 12 requests
    of the healthy stack's probe were refused."""
    routes: dict[str, set[str]] = {}
    for rules in _nat_rules():
        for service_port, sent_to in service_routes(rules).items():
            routes.setdefault(service_port, set()).update(sent_to)
    if not api_endpoints or routes.get(API_SERVICE_PORT) != api_endpoints:
        return None
    ours = set(endpoints) | {service_port for service_port in routes if service_port.startswith(f"{namespace}/")}
    behind = [f"{service_port}: kube-proxy sends to {', '.join(sorted(routes.get(service_port, ()))) or 'nothing'}, "
              f"its endpoints are {', '.join(sorted(endpoints.get(service_port, ()))) or 'none'}"
              for service_port in sorted(ours) if routes.get(service_port, set()) != endpoints.get(service_port, set())]
    return "; ".join(behind) or None


def routed_here(node_ports: Iterable[int]) -> list[int]:
    """The ones among `node_ports` that a kube-proxy rule in this host's nat table (iptables mode) routes."""
    routed = {int(port) for rules in _nat_rules("KUBE-NODEPORTS") for port in _NODE_PORT_RULE.findall(rules)}
    return [port for port in node_ports if port in routed]


def forget_unrouted_connections(node_ports: Iterable[int]) -> None:
    """Drop the host's conntrack entries of connections to a NodePort on 127.0.0.1 that reached no pod
    (made while the Service had no endpoints or a dying one: a broken stack, a namespace being recreated).

    A SYN from the same source port within the entry's 2 minutes matches it as a retransmission and
    keeps its lack of NAT: it meets the host's closed port, and is refused although the Service has
    endpoints by then (kube-proxy clears stale entries for UDP only). Clients' ephemeral ports come
    round again that soon: spot-interruption's drain probe was refused 11 times in one run, at the
    moment the conntrack entries of 11 of its ports, left unanswered and un-NATed by the broken
    stack's check 33 s before, closed. A SYN NATed to a pod since gone and never answered is the
    same trap with a timeout: that check leaves 4 such entries each run, and the reference's probe
    opened connections from 1, 4, 0 and 2 of their ports within their lifetime in four runs."""
    if not shutil.which("conntrack"):
        return
    for port in node_ports:
        connections = ["conntrack", "-D", "-p", "tcp", "--orig-dst", HOST, "--dport", str(port)]
        # never NATed; or NATed but never answered (a SYN to a pod since gone would go there again)
        for which in (["--reply-src", HOST], ["--state", "SYN_SENT"]):
            subprocess.run([*connections, *which], check=False, capture_output=True)
