"""A lab certificate authority: root, intermediates and leaf certificates made at provision time.

Scenarios about TLS need real chains (a server that sends its intermediate or forgets it, a client
certificate signed by an intermediate the server does not trust, one that has expired), and checked-in
keys would be the same for every learner and everyone who reads the repository. So every key here is
generated when asked for and written only where the caller says, typically a scenario's state or
workspace directory at provision time.

    root = CertificateAuthority.root("breakfix lab root")
    issuing = root.intermediate("breakfix lab issuing 2026")
    server = issuing.issue("api", dns=["api.payments.test"], usage=Usage.SERVER)
    client = issuing.issue("svc-a", uris=["spiffe://mesh.test/svc-a"], usage=Usage.CLIENT)
    old = issuing.issue("svc-c", usage=Usage.CLIENT, validity=Validity.expired())
    server.write(directory, "api")        # api.crt (leaf + intermediates), api.key, api.leaf.crt
    root.write_trust(directory / "ca.crt")

Keys are ECDSA P-256 by default: generating RSA keys costs tens of milliseconds each, and every
TLS stack a lab uses (nginx, curl, openssl, Python's ssl) accepts P-256.
"""

from __future__ import annotations

import enum
import ipaddress
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
KeyType = Literal["ec", "rsa"]

# Certificates are backdated by this much: a container's clock a few seconds behind the host's must
# not see a freshly issued certificate as "not yet valid".
CLOCK_SKEW = timedelta(minutes=5)


class Usage(enum.Enum):
    """What a leaf certificate may be used for (its extended key usage)."""

    SERVER = "server"
    CLIENT = "client"
    BOTH = "both"  # a service that both accepts and makes mTLS calls with one identity

    def extended_key_usage(self) -> x509.ExtendedKeyUsage:
        usages = {
            Usage.SERVER: [ExtendedKeyUsageOID.SERVER_AUTH],
            Usage.CLIENT: [ExtendedKeyUsageOID.CLIENT_AUTH],
            Usage.BOTH: [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
        }
        return x509.ExtendedKeyUsage(usages[self])


@dataclass(frozen=True)
class Validity:
    """A certificate's validity window (UTC)."""

    not_before: datetime
    not_after: datetime

    def __post_init__(self) -> None:
        if self.not_after <= self.not_before:
            raise ValueError(f"not_after {self.not_after} is not after not_before {self.not_before}")

    @classmethod
    def days(cls, days: float, *, now: datetime | None = None) -> Validity:
        """Valid from now (backdated by CLOCK_SKEW) for `days` days."""
        start = (now or datetime.now(UTC)) - CLOCK_SKEW
        return cls(start, start + CLOCK_SKEW + timedelta(days=days))

    @classmethod
    def expired(cls, days_ago: float = 1, lifetime_days: float = 90, *, now: datetime | None = None) -> Validity:
        """A window that ended `days_ago` days ago, after `lifetime_days` days of validity."""
        end = (now or datetime.now(UTC)) - timedelta(days=days_ago)
        return cls(end - timedelta(days=lifetime_days), end)

    @classmethod
    def not_yet_valid(cls, days_ahead: float = 1, lifetime_days: float = 90, *, now: datetime | None = None) -> Validity:
        """A window that starts `days_ahead` days from now (a clock-skew or pre-dated-rotation fault)."""
        start = (now or datetime.now(UTC)) + timedelta(days=days_ahead)
        return cls(start, start + timedelta(days=lifetime_days))


def generate_key(key_type: KeyType = "ec") -> PrivateKey:
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def certificate_pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def key_pem(key: PrivateKey) -> str:
    """The key unencrypted in PKCS#8: what nginx, curl and Python's ssl load without a passphrase."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def bundle_pem(certificates: Iterable[x509.Certificate]) -> str:
    """Certificates concatenated in the given order (a chain: leaf first; a trust store: any order)."""
    return "".join(certificate_pem(certificate) for certificate in certificates)


def load_certificates(pem: str | bytes) -> list[x509.Certificate]:
    """Every certificate of a PEM bundle, in order."""
    return x509.load_pem_x509_certificates(pem.encode() if isinstance(pem, str) else pem)


def write_text(path: Path, text: str, *, private: bool = False) -> Path:
    """Write a PEM file, creating its directory; a private key is made owner-only before any byte lands."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if private:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(descriptor, 0o600)  # an existing file keeps its old mode through os.open
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    return path


def _name(common_name: str, organization: str | None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


def _sign(key: PrivateKey, builder: x509.CertificateBuilder) -> x509.Certificate:
    return builder.sign(key, hashes.SHA256())


@dataclass(frozen=True)
class IssuedFiles:
    """Where `KeyedCertificate.write` put a certificate: `chain` is what a TLS server or client presents."""

    chain: Path  # leaf followed by its intermediates (nginx ssl_certificate, curl --cert)
    key: Path
    leaf: Path  # the leaf alone


@dataclass(frozen=True)
class KeyedCertificate:
    """A certificate and its private key: what a leaf and a CA both hold, and the files both write.

    `chain_pem` is the certificate followed by `presented` (what its holder sends after it in a
    handshake, never the root); each subclass says what that is."""

    certificate: x509.Certificate
    key: PrivateKey

    @property
    def presented(self) -> tuple[x509.Certificate, ...]:
        return ()

    @property
    def cert_pem(self) -> str:
        return certificate_pem(self.certificate)

    @property
    def key_pem(self) -> str:
        return key_pem(self.key)

    @property
    def chain_pem(self) -> str:
        """This certificate then the ones between it and its root, never the root."""
        return bundle_pem([self.certificate, *self.presented])

    def write(self, directory: Path, name: str) -> IssuedFiles:
        """<name>.crt (the chain), <name>.key (owner-only) and <name>.leaf.crt (this certificate alone) in `directory`."""
        return IssuedFiles(
            chain=write_text(directory / f"{name}.crt", self.chain_pem),
            key=write_text(directory / f"{name}.key", self.key_pem, private=True),
            leaf=write_text(directory / f"{name}.leaf.crt", self.cert_pem),
        )


@dataclass(frozen=True)
class Issued(KeyedCertificate):
    """A leaf certificate, its key, and the intermediates between it and the root (leaf's issuer first)."""

    intermediates: tuple[x509.Certificate, ...] = ()

    @property
    def presented(self) -> tuple[x509.Certificate, ...]:
        """The intermediates: what a server sends after its leaf."""
        return self.intermediates


@dataclass(frozen=True)
class CertificateAuthority(KeyedCertificate):
    """A CA that can sign: a self-signed root, or an intermediate with its parents (issuer first, root last)."""

    parents: tuple[x509.Certificate, ...] = field(default=())

    @property
    def name(self) -> str:
        return str(self.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)

    @property
    def is_root(self) -> bool:
        return not self.parents

    @property
    def root_certificate(self) -> x509.Certificate:
        return self.parents[-1] if self.parents else self.certificate

    @property
    def presented(self) -> tuple[x509.Certificate, ...]:
        """Its parents but the root: this CA's chain is what a server appends after its leaf."""
        return self.parents[:-1]

    @property
    def trust_pem(self) -> str:
        """The root alone: the trust anchor clients and servers verify against."""
        return certificate_pem(self.root_certificate)

    @classmethod
    def root(
        cls,
        common_name: str,
        *,
        organization: str | None = "breakfix lab",
        validity: Validity | None = None,
        key_type: KeyType = "ec",
    ) -> CertificateAuthority:
        key = generate_key(key_type)
        window = validity or Validity.days(3650)
        name = _name(common_name, organization)
        builder = _ca_builder(name, name, key, key, window, path_length=None)
        return cls(_sign(key, builder), key)

    def intermediate(
        self,
        common_name: str,
        *,
        organization: str | None = "breakfix lab",
        validity: Validity | None = None,
        path_length: int | None = 0,
        key_type: KeyType = "ec",
    ) -> CertificateAuthority:
        """A CA signed by this one. path_length=0: it may sign leaves only, as issuing CAs do."""
        key = generate_key(key_type)
        window = validity or Validity.days(1825)
        builder = _ca_builder(_name(common_name, organization), self.certificate.subject, key, self.key, window, path_length=path_length)
        return CertificateAuthority(_sign(self.key, builder), key, (self.certificate, *self.parents))

    def issue(
        self,
        common_name: str,
        *,
        dns: Sequence[str] = (),
        uris: Sequence[str] = (),
        ips: Sequence[str] = (),
        usage: Usage = Usage.SERVER,
        validity: Validity | None = None,
        organization: str | None = "breakfix lab",
        key_type: KeyType = "ec",
    ) -> Issued:
        """A leaf certificate. Without any SAN the leaf has no subjectAltName extension at all, which
        is itself a fault some scenarios want (verifiers ignore the CN)."""
        key = generate_key(key_type)
        window = validity or Validity.days(90)
        # RSA key exchange (TLS 1.2 non-ECDHE suites) needs keyEncipherment; an EC key never enciphers
        builder = _builder(_name(common_name, organization), self.certificate.subject, key, self.key, window,
                           constraints=x509.BasicConstraints(ca=False, path_length=None),
                           usage=_key_usage(signs_certificates=False, enciphers=isinstance(key, rsa.RSAPrivateKey)),
                           extended=usage.extended_key_usage())
        names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns]
        names += [x509.UniformResourceIdentifier(uri) for uri in uris]
        names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return Issued(_sign(self.key, builder), key, (self.certificate, *self.parents[:-1]) if self.parents else ())

    def write_trust(self, path: Path) -> Path:
        """The root certificate alone, as a trust bundle file."""
        return write_text(path, self.trust_pem)


def trust_bundle(*authorities: CertificateAuthority | x509.Certificate) -> str:
    """A PEM trust bundle of the given CAs' own certificates (e.g. two roots during a CA migration, or a
    root plus an intermediate for a verifier told to trust the intermediate directly)."""
    certificates = [item.certificate if isinstance(item, CertificateAuthority) else item for item in authorities]
    return bundle_pem(certificates)


def _builder(
    subject: x509.Name, issuer: x509.Name, key: PrivateKey, issuer_key: PrivateKey, window: Validity, *,
    constraints: x509.BasicConstraints, usage: x509.KeyUsage, extended: x509.ExtendedKeyUsage | None = None,
) -> x509.CertificateBuilder:
    """What a CA and a leaf certificate both carry, in one order: names, key, serial, validity, then
    basic constraints, key usage (and extended key usage) and the two key identifiers."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(window.not_before)
        .not_valid_after(window.not_after)
        .add_extension(constraints, critical=True)
        .add_extension(usage, critical=True)
    )
    if extended is not None:
        builder = builder.add_extension(extended, critical=False)
    return (
        builder
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    )


def _ca_builder(
    subject: x509.Name, issuer: x509.Name, key: PrivateKey, issuer_key: PrivateKey, window: Validity, *, path_length: int | None
) -> x509.CertificateBuilder:
    return _builder(subject, issuer, key, issuer_key, window, constraints=x509.BasicConstraints(ca=True, path_length=path_length),
                    usage=_key_usage(signs_certificates=True, enciphers=False))


def _key_usage(*, signs_certificates: bool, enciphers: bool) -> x509.KeyUsage:
    """Every certificate here signs (TLS handshakes, or certificates and CRLs for a CA); nothing else varies."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=enciphers,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signs_certificates,
        crl_sign=signs_certificates,
        encipher_only=False,
        decipher_only=False,
    )


def subject_alt_names(certificate: x509.Certificate) -> list[str]:
    """The SANs of a certificate as strings ("DNS:a.test", "URI:spiffe://...", "IP:10.0.0.1"), [] without the extension."""
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    names = [f"DNS:{name}" for name in extension.get_values_for_type(x509.DNSName)]
    names += [f"URI:{uri}" for uri in extension.get_values_for_type(x509.UniformResourceIdentifier)]
    names += [f"IP:{ip}" for ip in extension.get_values_for_type(x509.IPAddress)]
    return names


def verify_chain(
    leaf: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    *,
    server_name: str | None = None,
    at: datetime | None = None,
) -> None:
    """Verify `leaf` through `intermediates` to one of `roots` as a TLS peer would (signatures, validity,
    CA constraints, extended key usage): as a server certificate for DNS name `server_name` when given,
    else as a client certificate. Raises x509.verification.VerificationError saying why it does not verify."""
    from cryptography.x509.verification import PolicyBuilder, Store

    builder = PolicyBuilder().store(Store(list(roots)))
    if at is not None:
        builder = builder.time(at)
    if server_name is not None:
        builder.build_server_verifier(x509.DNSName(server_name)).verify(leaf, list(intermediates))
    else:
        builder.build_client_verifier().verify(leaf, list(intermediates))


def load_key(pem: str | bytes) -> PrivateKey:
    key = serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ValueError(f"a {type(key).__name__} is not a key this CA signs with (EC or RSA)")
    return key


def load_authority(chain: Path, key: Path, root: Path | None = None) -> CertificateAuthority:
    """A CA back from files `CertificateAuthority.write` made (its chain without the root, its key), and
    the root's certificate file unless the CA is the root itself."""
    certificates = load_certificates(chain.read_bytes())
    certificate, parents = certificates[0], certificates[1:]
    if certificate.issuer != certificate.subject:
        if root is None:
            raise ValueError(f"{chain}: {certificate.subject.rfc4514_string()} is not a root: give its root's certificate")
        parents += load_certificates(root.read_bytes())[:1]
    return CertificateAuthority(certificate, load_key(key.read_bytes()), tuple(parents))


def usage_of(certificate: x509.Certificate) -> Usage:
    """The Usage a leaf was issued for, read from its extended key usage (SERVER when it has none)."""
    try:
        usages = set(certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return Usage.SERVER
    server, client = ExtendedKeyUsageOID.SERVER_AUTH in usages, ExtendedKeyUsageOID.CLIENT_AUTH in usages
    return Usage.BOTH if server and client else Usage.CLIENT if client else Usage.SERVER


def reissue(
    authority: CertificateAuthority,
    certificate: x509.Certificate,
    *,
    dns: Sequence[str] | None = None,
    uris: Sequence[str] | None = None,
    ips: Sequence[str] | None = None,
    validity: Validity | None = None,
) -> Issued:
    """A new key and certificate from `authority` saying what `certificate` says (common name, SANs,
    usage), but for the names and validity given: what a rotation does, right or wrong."""
    names = subject_alt_names(certificate)

    def kept(prefix: str) -> list[str]:
        return [name.removeprefix(prefix) for name in names if name.startswith(prefix)]

    common_names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    organizations = certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return authority.issue(
        str(common_names[0].value) if common_names else "",
        dns=kept("DNS:") if dns is None else dns,
        uris=kept("URI:") if uris is None else uris,
        ips=kept("IP:") if ips is None else ips,
        usage=usage_of(certificate),
        validity=validity,
        organization=str(organizations[0].value) if organizations else None,
    )
