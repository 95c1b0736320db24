"""The load balancer's TLS for api.payments.test: protocol, name, chain."""

import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

NAME = "api.payments.test"


def test_tls_1_2_or_newer_only(handshake):
    """The load balancer negotiates TLS 1.2 or newer with api.payments.test's clients, and nothing older"""
    modern, error, _ = handshake()
    assert modern in ("TLSv1.2", "TLSv1.3"), (
        f"a client that requires TLS 1.2 or newer (the default of OpenSSL 3, curl) cannot complete a handshake with the load balancer "
        f"for {NAME}: {error if modern is None else 'it negotiated ' + modern}"
    )
    # a client willing to go down to TLS 1.1 (security level 0) must still be refused
    legacy, _, _ = handshake("-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
    assert legacy is None, f"the load balancer still accepts {legacy} handshakes for {NAME}: nothing older than TLS 1.2 may be offered"


def test_certificate_names_the_host(served_chain):
    """The certificate served for api.payments.test (SNI) names api.payments.test"""
    leaf = x509.load_pem_x509_certificate(served_chain[0].encode())
    try:
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = []
    subject = leaf.subject.rfc4514_string()
    assert NAME in names, f"for SNI {NAME} the load balancer serves the certificate of {', '.join(names) or subject} ({subject}), which does not name {NAME}"


def test_served_chain_verifies_to_the_lab_root(served_chain, lab_root):
    """The load balancer sends the full chain: its certificate verifies, through what it sends, to the lab root CA alone"""
    certificates = [x509.load_pem_x509_certificate(pem.encode()) for pem in served_chain]
    roots = x509.load_pem_x509_certificates(lab_root.encode())
    leaf, sent = certificates[0], certificates[1:]
    # the server verifier checks the name too: verify for a name the leaf has, so this judges the chain alone
    try:
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        pytest.fail(f"the served certificate {leaf.subject.rfc4514_string()} has no subjectAltName")
    try:
        PolicyBuilder().store(Store(roots)).build_server_verifier(x509.DNSName(names[0])).verify(leaf, sent)
    except VerificationError as exc:
        sent_names = ", ".join(cert.subject.rfc4514_string() for cert in certificates)
        pytest.fail(f"the served chain ({len(certificates)} certificate(s): {sent_names}) does not verify to the lab root CA "
                    f"({roots[0].subject.rfc4514_string()}): {exc}")
