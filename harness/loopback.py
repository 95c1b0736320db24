"""The one loopback rule: what a learner talks to and what a probe sends traffic to is
http://127.0.0.1:PORT[/PATH].

breakfix publishes only on 127.0.0.1 and its probes speak plain HTTP, so an https:// entrypoint
could never be probed: the manifest and the probes read a URL with this one function.
"""

from __future__ import annotations

import re

HOST = "127.0.0.1"
RULE = "http://127.0.0.1:PORT or http://127.0.0.1:PORT/PATH"
_URL = re.compile(r"^http://127\.0\.0\.1:(\d{1,5})(/\S*)?$")


def loopback_port(url: str) -> int:
    """The port of a loopback URL; a ValueError says what is wrong with any other."""
    match = _URL.match(url)
    if not match:
        raise ValueError(f"must be {RULE} -- breakfix serves and probes on loopback only")
    port = int(match[1])
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} is not between 1 and 65535")
    return port
