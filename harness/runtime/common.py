"""What every runtime shares, with nothing heavy imported: the label every object of an instance
carries, and the loopback port probe a runtime's preflight runs before it binds."""

from __future__ import annotations

import socket

INSTANCE_LABEL = "breakfix.instance"  # on every container, network, volume (and Kubernetes object) of an instance
SERVICE_LABEL = "breakfix.service"


def port_is_free(port: int) -> bool:
    """Nothing listens on 127.0.0.1:`port` (a socket in TIME_WAIT does not count: SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
