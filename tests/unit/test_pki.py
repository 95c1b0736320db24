"""The lab CA: chains that verify (by cryptography's verifier, openssl and a real TLS handshake), and the
broken certificates scenarios ask for (expired, no SAN, other CA, untrusted intermediate) that do not."""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import stat
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.verification import VerificationError

from harness.pki import (
    CertificateAuthority,
    KeyedCertificate,
    Usage,
    Validity,
    load_certificates,
    subject_alt_names,
    trust_bundle,
    verify_chain,
)


@pytest.fixture(scope="module")
def root() -> CertificateAuthority:
    return CertificateAuthority.root("test root")


@pytest.fixture(scope="module")
def issuing(root: CertificateAuthority) -> CertificateAuthority:
    return root.intermediate("test issuing")


def test_root_is_self_signed_ca_and_intermediate_chains_to_it(root: CertificateAuthority, issuing: CertificateAuthority) -> None:
    assert root.is_root and root.certificate.issuer == root.certificate.subject
    assert root.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not issuing.is_root and issuing.root_certificate == root.certificate
    assert issuing.certificate.issuer == root.certificate.subject
    constraints = issuing.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca and constraints.path_length == 0
    assert issuing.name == "test issuing"


def test_leaf_carries_its_sans_and_usage(issuing: CertificateAuthority) -> None:
    leaf = issuing.issue("svc-a", dns=["svc-a.mesh.test"], uris=["spiffe://mesh.test/svc-a"], ips=["127.0.0.1"], usage=Usage.BOTH)
    assert subject_alt_names(leaf.certificate) == ["DNS:svc-a.mesh.test", "URI:spiffe://mesh.test/svc-a", "IP:127.0.0.1"]
    usages = leaf.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert {usage.dotted_string for usage in usages} == {"1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"}
    assert leaf.intermediates == (issuing.certificate,)


def test_leaf_without_names_has_no_san_extension(issuing: CertificateAuthority) -> None:
    leaf = issuing.issue("bare", usage=Usage.CLIENT)
    assert subject_alt_names(leaf.certificate) == []
    with pytest.raises(x509.ExtensionNotFound):
        leaf.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)


def test_chain_verifies_to_the_root_only(root: CertificateAuthority, issuing: CertificateAuthority) -> None:
    client = issuing.issue("svc-a", uris=["spiffe://mesh.test/svc-a"], usage=Usage.CLIENT)
    server = issuing.issue("svc-b", dns=["svc-b.mesh.test"], usage=Usage.SERVER)
    verify_chain(client.certificate, client.intermediates, [root.certificate])
    verify_chain(server.certificate, server.intermediates, [root.certificate], server_name="svc-b.mesh.test")
    with pytest.raises(VerificationError):
        verify_chain(server.certificate, server.intermediates, [root.certificate], server_name="other.mesh.test")
    with pytest.raises(VerificationError):  # without its intermediate the leaf does not reach the root
        verify_chain(client.certificate, [], [root.certificate])
    with pytest.raises(VerificationError):
        verify_chain(client.certificate, client.intermediates, [CertificateAuthority.root("other root").certificate])


def test_usage_is_enforced(root: CertificateAuthority, issuing: CertificateAuthority) -> None:
    server_only = issuing.issue("svc-b", dns=["svc-b.mesh.test"], usage=Usage.SERVER)
    with pytest.raises(VerificationError):
        verify_chain(server_only.certificate, server_only.intermediates, [root.certificate])


def test_validity_windows(root: CertificateAuthority, issuing: CertificateAuthority) -> None:
    now = datetime.now(UTC)
    expired = issuing.issue("old", uris=["spiffe://mesh.test/old"], usage=Usage.CLIENT, validity=Validity.expired(days_ago=2))
    assert expired.certificate.not_valid_after_utc < now - timedelta(days=1)
    with pytest.raises(VerificationError, match="not valid"):
        verify_chain(expired.certificate, expired.intermediates, [root.certificate])
    fresh_leaf = issuing.issue("fresh", uris=["spiffe://mesh.test/fresh"], usage=Usage.CLIENT)  # 90 days by default
    verify_chain(fresh_leaf.certificate, fresh_leaf.intermediates, [root.certificate], at=now + timedelta(days=89))
    with pytest.raises(VerificationError, match="not valid"):
        verify_chain(fresh_leaf.certificate, fresh_leaf.intermediates, [root.certificate], at=now + timedelta(days=91))
    future = issuing.issue("new", uris=["spiffe://mesh.test/new"], usage=Usage.CLIENT, validity=Validity.not_yet_valid())
    assert future.certificate.not_valid_before_utc > now
    fresh = Validity.days(30, now=now)
    assert fresh.not_before < now and fresh.not_after - now == timedelta(days=30)
    with pytest.raises(ValueError):
        Validity(now, now)


def test_write_lays_out_chain_key_and_leaf(tmp_path: Path, root: CertificateAuthority, issuing: CertificateAuthority) -> None:
    leaf = issuing.issue("svc-a", uris=["spiffe://mesh.test/svc-a"], usage=Usage.CLIENT)
    files = leaf.write(tmp_path / "certs", "svc-a")
    assert [c.subject for c in load_certificates(files.chain.read_text())] == [leaf.certificate.subject, issuing.certificate.subject]
    assert load_certificates(files.leaf.read_bytes()) == [leaf.certificate]
    assert stat.S_IMODE(files.key.stat().st_mode) == 0o600
    assert "PRIVATE KEY" in files.key.read_text()
    trust = root.write_trust(tmp_path / "certs" / "ca.crt")
    assert load_certificates(trust.read_text()) == [root.certificate]
    ca_files = issuing.write(tmp_path / "ca", "issuing")
    assert load_certificates(ca_files.chain.read_text()) == [issuing.certificate]  # the root is never in a chain
    two_roots = CertificateAuthority.root("second root")
    assert load_certificates(trust_bundle(root, two_roots.certificate)) == [root.certificate, two_roots.certificate]


def test_leaves_and_authorities_present_their_chain_without_the_root(root: CertificateAuthority, issuing: CertificateAuthority) -> None:
    # one KeyedCertificate base writes both: a CA's chain and a leaf's are the same rule
    sub = issuing.intermediate("sub", path_length=None)
    leaf = sub.issue("svc-a", dns=["a.test"])
    assert isinstance(leaf, KeyedCertificate) and isinstance(sub, KeyedCertificate)
    assert load_certificates(leaf.chain_pem) == [leaf.certificate, sub.certificate, issuing.certificate]
    assert load_certificates(sub.chain_pem) == [sub.certificate, issuing.certificate]
    assert load_certificates(root.chain_pem) == load_certificates(root.cert_pem) == [root.certificate]
    assert leaf.key_pem.startswith("-----BEGIN PRIVATE KEY-----") and sub.key_pem != leaf.key_pem


def test_rsa_keys_encipher(issuing: CertificateAuthority) -> None:
    leaf = issuing.issue("legacy", dns=["legacy.test"], key_type="rsa")
    assert leaf.certificate.extensions.get_extension_for_class(x509.KeyUsage).value.key_encipherment
    assert "PRIVATE KEY" in leaf.key_pem


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_openssl_agrees(tmp_path: Path, root: CertificateAuthority, issuing: CertificateAuthority) -> None:
    good = issuing.issue("svc-a", uris=["spiffe://mesh.test/svc-a"], usage=Usage.CLIENT).write(tmp_path, "good")
    expired = issuing.issue("old", usage=Usage.CLIENT, validity=Validity.expired()).write(tmp_path, "old")
    ca = root.write_trust(tmp_path / "ca.crt")
    chain = issuing.write(tmp_path, "issuing").chain

    def verify(leaf: Path) -> subprocess.CompletedProcess[str]:
        command = ["openssl", "verify", "-purpose", "sslclient", "-CAfile", str(ca), "-untrusted", str(chain), str(leaf)]
        return subprocess.run(command, capture_output=True, text=True, check=False)

    assert verify(good.leaf).returncode == 0
    result = verify(expired.leaf)
    assert result.returncode != 0 and "expired" in result.stdout + result.stderr


def test_mutual_tls_handshake(tmp_path: Path, root: CertificateAuthority, issuing: CertificateAuthority) -> None:
    """A real TLS 1.3 handshake over loopback with Python's ssl: the server demands a client certificate
    and sees the client's URI SAN; a client certificate from another CA is refused."""
    server_files = issuing.issue("svc-b", dns=["svc-b.mesh.test"], usage=Usage.SERVER).write(tmp_path, "b")
    client_files = issuing.issue("svc-a", uris=["spiffe://mesh.test/svc-a"], usage=Usage.CLIENT).write(tmp_path, "a")
    stranger = CertificateAuthority.root("stranger").issue("svc-x", uris=["spiffe://mesh.test/svc-a"], usage=Usage.CLIENT).write(tmp_path, "x")
    ca = root.write_trust(tmp_path / "ca.crt")

    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(server_files.chain, server_files.key)
    server_context.load_verify_locations(ca)
    server_context.verify_mode = ssl.CERT_REQUIRED
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    seen: list[object] = []

    def serve(count: int) -> None:
        for _ in range(count):
            connection, _ = listener.accept()
            try:
                with server_context.wrap_socket(connection, server_side=True) as tls:
                    seen.append(tls.getpeercert()["subjectAltName"])
                    tls.sendall(b"ok")
            except ssl.SSLError as exc:
                seen.append(exc.reason)

    thread = threading.Thread(target=serve, args=(2,), daemon=True)
    thread.start()
    for files in (client_files, stranger):
        client_context = ssl.create_default_context(cafile=str(ca))
        client_context.load_cert_chain(files.chain, files.key)
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            client_context.wrap_socket(raw, server_hostname="svc-b.mesh.test") as tls,
            contextlib.suppress(ssl.SSLError, ConnectionError),  # TLS 1.3: a refusal arrives after the client's handshake
        ):
            tls.recv(2)
    thread.join(timeout=10)
    listener.close()
    assert seen[0] == (("URI", "spiffe://mesh.test/svc-a"),)
    assert seen[1] in {"TLSV1_ALERT_UNKNOWN_CA", "CERTIFICATE_VERIFY_FAILED"}



def test_a_written_authority_reads_back(tmp_path: Path, root: CertificateAuthority, issuing: CertificateAuthority) -> None:
    from harness.pki import load_authority

    issuing_files = issuing.write(tmp_path, "issuing")
    root_files = root.write(tmp_path, "root")
    again = load_authority(issuing_files.chain, issuing_files.key, root_files.leaf)
    assert again.certificate == issuing.certificate and again.parents == (root.certificate,)
    leaf = again.issue("svc-a", uris=["spiffe://mesh.test/svc-a"], usage=Usage.CLIENT)
    verify_chain(leaf.certificate, leaf.intermediates, [root.certificate])
    assert load_authority(root_files.chain, root_files.key).is_root
    with pytest.raises(ValueError, match="not a root"):
        load_authority(issuing_files.chain, issuing_files.key)


def test_reissue_keeps_what_the_certificate_says_but_what_is_changed(root: CertificateAuthority, issuing: CertificateAuthority) -> None:
    from harness.pki import reissue, usage_of

    original = issuing.issue("svc-b", dns=["svc-b.mesh.test"], uris=["spiffe://mesh.test/svc-b"], usage=Usage.BOTH)
    rotated_ca = root.intermediate("rotated issuing")
    rotated = reissue(rotated_ca, original.certificate)
    assert rotated.certificate.subject == original.certificate.subject and rotated.key != original.key
    assert subject_alt_names(rotated.certificate) == subject_alt_names(original.certificate)
    assert usage_of(rotated.certificate) is Usage.BOTH and rotated.intermediates == (rotated_ca.certificate,)
    renamed = reissue(issuing, original.certificate, dns=["svc-b.internal"])
    assert subject_alt_names(renamed.certificate) == ["DNS:svc-b.internal", "URI:spiffe://mesh.test/svc-b"]
    expired = reissue(issuing, original.certificate, validity=Validity.expired())
    assert expired.certificate.not_valid_after_utc < datetime.now(UTC)
    assert usage_of(issuing.issue("c", usage=Usage.CLIENT).certificate) is Usage.CLIENT
