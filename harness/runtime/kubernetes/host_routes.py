"""NodePorts this host's own kube-proxy routes, and the conntrack entries that trap probes sent to them.

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


def routed_here(node_ports: Iterable[int]) -> list[int]:
    """The ones among `node_ports` that a kube-proxy rule in this host's nat table (iptables mode) routes."""
    routed: set[int] = set()
    for iptables in filter(shutil.which, ("iptables", "iptables-legacy")):  # kube-proxy writes to the backend it detects
        listed = subprocess.run([iptables, "-w", "5", "-t", "nat", "-S", "KUBE-NODEPORTS"], check=False, capture_output=True, text=True)
        if listed.returncode == 0:  # otherwise no such chain: no kube-proxy of this host on that backend
            routed |= {int(port) for port in _NODE_PORT_RULE.findall(listed.stdout)}
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
