"""Probes of the mesh from the outside: requests to orders' edge, and TLS connections straight to the
payments and ledger sidecars (published on 127.0.0.1) with client certificates the checks mint.

The probe identities are signed by the lab root itself (the workspace's pki/root.*), so they chain
to the root whichever intermediates the learner's fix trusts; the stranger's come from a root of
their own, and the expired one from the lab root with a validity that ended yesterday.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.checks import BreakfixError, CertificateAuthority, Usage, Validity, load_authority

EDGE = ("127.0.0.1", 8130)
SERVERS = {"payments": 8131, "ledger": 8132}  # published ingress ports
MESH = "spiffe://mesh.test"
TIMEOUT = 5.0


@dataclass(frozen=True)
class Identity:
    """A client certificate (chain file) and key on disk, for ssl.SSLContext.load_cert_chain."""

    name: str
    chain: Path
    key: Path


@dataclass(frozen=True)
class Answer:
    """What a TLS request got: a status (None when the connection failed) and who answered."""

    status: int | None
    service: str | None  # X-Mesh-Service: the request got past the sidecar to the app
    body: Any
    error: str | None = None

    @property
    def reached_app(self) -> bool:
        return self.service is not None

    def describe(self) -> str:
        if self.status is None:
            return f"connection failed: {self.error}"
        return f"HTTP {self.status} from {'the ' + self.service + ' app' if self.service else 'the sidecar (nginx)'}"


@pytest.fixture(scope="session")
def pki_dir(instance) -> Path:
    directory = Path(instance.workspace) / "stack" / "pki"
    if not (directory / "root.key").is_file():
        raise BreakfixError(f"the lab CA is not in {directory} (root.crt, root.key): was the instance provisioned?")
    return directory


@pytest.fixture(scope="session")
def lab_root(pki_dir) -> CertificateAuthority:
    return load_authority(pki_dir / "root.crt", pki_dir / "root.key")


def _mint(directory: Path, authority: CertificateAuthority, name: str, uri: str, validity: Validity | None = None) -> Identity:
    files = authority.issue(name, uris=[uri], usage=Usage.CLIENT, validity=validity).write(directory, name)
    return Identity(name, files.chain, files.key)


@pytest.fixture(scope="session")
def identities(lab_root, tmp_path_factory) -> dict[str, Identity]:
    directory = tmp_path_factory.mktemp("probe-identities")
    stranger = CertificateAuthority.root("not the mesh CA")
    return {
        "orders": _mint(directory, lab_root, "probe-orders", f"{MESH}/orders"),
        "ledger": _mint(directory, lab_root, "probe-ledger", f"{MESH}/ledger"),
        "orders-lookalike": _mint(directory, lab_root, "probe-orders-canary", f"{MESH}/orders-canary"),
        "stranger": _mint(directory, stranger, "probe-stranger", f"{MESH}/orders"),
        "expired": _mint(directory, lab_root, "probe-expired", f"{MESH}/orders", Validity.expired(days_ago=1)),
    }


def tls_request(port: int, server_name: str, path: str, identity: Identity | None, *, verify_with: Path | None = None, body: Any = None) -> Answer:
    """POST over TLS to a sidecar. verify_with: the trust file the server's certificate must verify against
    (with its name checked); None: the server's certificate is not judged (the probe is about the client side)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if verify_with is None:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context.load_verify_locations(verify_with)
    if identity is not None:
        context.load_cert_chain(identity.chain, identity.key)
    connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=TIMEOUT, context=context)
    try:
        raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        connection.sock = context.wrap_socket(raw, server_hostname=server_name)
        connection.request("POST", path, json.dumps(body or {}), {"Content-Type": "application/json", "Host": server_name})
        response = connection.getresponse()
        data = response.read()
    except (OSError, http.client.HTTPException) as exc:  # ssl.SSLError is an OSError
        reason = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or str(exc) or type(exc).__name__
        return Answer(None, None, None, str(reason))
    finally:
        connection.close()
    try:
        parsed: Any = json.loads(data)
    except ValueError:
        parsed = data.decode(errors="replace")[:200]
    return Answer(response.status, response.getheader("X-Mesh-Service"), parsed)


def edge_request(path: str) -> tuple[int | None, Any]:
    """POST to orders' plain-HTTP edge: (status, JSON body or text), (None, error) when it does not answer."""
    connection = http.client.HTTPConnection(*EDGE, timeout=10)
    try:
        connection.request("POST", path, "{}", {"Content-Type": "application/json"})
        response = connection.getresponse()
        data = response.read()
    except (OSError, http.client.HTTPException) as exc:
        return None, str(exc) or type(exc).__name__
    finally:
        connection.close()
    try:
        return response.status, json.loads(data)
    except ValueError:
        return response.status, data.decode(errors="replace")[:300]


@pytest.fixture(scope="session")
def tls():
    return tls_request


@pytest.fixture(scope="session")
def edge():
    return edge_request
