"""What every check of the request path needs: the stack's addresses, and the chain the load balancer serves.

Every probe runs in the client container, over the same network path as the client's own calls."""

import re

import pytest

NAME = "api.payments.test"
NEGOTIATED = re.compile(r"^New, (\S+), Cipher is (\S+)", re.MULTILINE)
PEM = re.compile(r"-----BEGIN CERTIFICATE-----\n.*?\n-----END CERTIFICATE-----\n", re.DOTALL)


@pytest.fixture(scope="session")
def address(inspect):
    """address(service): the service's container address on the instance's network."""

    def of(service):
        networks = inspect(service)["NetworkSettings"]["Networks"]
        found = [network["IPAddress"] for network in networks.values() if network.get("IPAddress")]
        assert found, f"service {service} has no network address: is it running?"
        return found[0]

    return of


@pytest.fixture(scope="session")
def client(instance):
    """client(command): (exit code, output) of a shell command in the client container."""

    def run(command):
        return instance.exec("client", ["sh", "-c", command])

    return run


@pytest.fixture(scope="session")
def lab_root(instance):
    """The lab root CA the pki runtime issued at provision, read from the workspace it wrote (PEM text)."""
    return (instance.workspace / "stack" / "certs" / "ca.crt").read_text()


@pytest.fixture(scope="session")
def handshake(client, address):
    """handshake(*openssl options) -> (negotiated protocol or None, why it failed, openssl s_client's output):
    one TLS handshake from the client with the load balancer, for api.payments.test (SNI)."""

    def run(*options):
        _, output = client(f"openssl s_client -connect {address('lb')}:443 -servername {NAME} {' '.join(options)} </dev/null 2>&1")
        # "New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384"; a failed handshake says "Cipher is (NONE)"
        session = NEGOTIATED.search(output)
        protocol = session.group(1) if session and session.group(2) != "(NONE)" else None
        return protocol, handshake_error(output), output

    return run


@pytest.fixture(scope="session")
def served_chain(handshake):
    """The certificates the load balancer sends for api.payments.test (SNI), in the order sent."""
    _, error, output = handshake("-showcerts")
    certificates = PEM.findall(output)
    assert certificates, f"no TLS handshake with the load balancer for {NAME}: {error}"
    return certificates


def handshake_error(output):
    """The line of an openssl s_client output that says why a handshake failed."""
    for line in output.splitlines():
        if "alert" in line or ":error:" in line or "errno" in line or "connect:" in line:
            return line.split(":error:")[-1].strip()[:200]
    return output.strip().splitlines()[-1][:200] if output.strip() else "no output"
