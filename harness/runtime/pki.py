"""PKI runtime: a scenario's lab certificates, made fresh by harness.pki at every provision.

A scenario that `requires: [pki, docker]` ships `pki.yaml` beside its compose file, naming its CAs,
its leaf certificates and its trust bundles; provisioning writes them into the learner's workspace
(`out`, a folder of the stack) before any container starts, so the stack bind-mounts them like any
other file. No key is ever checked in, and every provision (start, reset, each fake of verify) gets
new ones. Teardown has nothing of its own to remove: the files live and die with the workspace.

    out: certs
    authorities:
      root: {common_name: payments lab root}
      issuing: {common_name: payments lab issuing, issuer: root}
    certificates:
      api: {issuer: issuing, dns: [api.payments.test]}   # certs/api.crt (chain), api.key, api.leaf.crt
    trust:
      ca.crt: [root]                                     # certs/ca.crt: the root alone
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, ValidationError, model_validator

from harness.errors import BreakfixError
from harness.manifest import Strict, describe, load_yaml
from harness.validation import RelativePathInside

if TYPE_CHECKING:
    from harness.pki import CertificateAuthority, Issued
    from harness.registry import Finding, Setup
    from harness.runtime import Progress

SPEC_FILE = "pki.yaml"
Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,40}$")]


class AuthoritySpec(Strict):
    common_name: str = Field(min_length=1, max_length=64)
    issuer: Name | None = Field(default=None, description="the authority that signs it; none: a self-signed root")
    days: float = Field(default=1825, gt=0, le=36500)


class CertificateSpec(Strict):
    issuer: Name
    common_name: str | None = Field(default=None, max_length=64, description="default: the first DNS name, else the certificate's name")
    dns: list[str] = Field(default_factory=list)
    uris: list[str] = Field(default_factory=list)
    ips: list[str] = Field(default_factory=list)
    usage: Literal["server", "client", "both"] = "server"
    days: float = Field(default=90, gt=0, le=3650)
    expired: bool = Field(default=False, description="valid until yesterday: an expired certificate")


class PkiSpec(Strict):
    out: RelativePathInside = Field(default="certs", description="folder of the stack the files are written to")
    authorities: dict[Name, AuthoritySpec] = Field(min_length=1)
    certificates: dict[Name, CertificateSpec] = Field(default_factory=dict)
    trust: dict[Name, list[Name]] = Field(default_factory=dict, description="bundle file -> the authorities it holds")

    @model_validator(mode="after")
    def _issuers_known(self) -> PkiSpec:
        for name, authority in self.authorities.items():
            if authority.issuer is not None and authority.issuer not in self.authorities:
                raise ValueError(f"authorities.{name}.issuer: no authority {authority.issuer!r}")
        for name, certificate in self.certificates.items():
            if certificate.issuer not in self.authorities:
                raise ValueError(f"certificates.{name}.issuer: no authority {certificate.issuer!r}")
        for bundle, members in self.trust.items():
            unknown = [member for member in members if member not in self.authorities]
            if unknown:
                raise ValueError(f"trust.{bundle}: no authority {', '.join(map(repr, unknown))}")
        order = self.issuing_order()  # raises on a cycle
        del order
        return self

    def issuing_order(self) -> list[str]:
        """Authorities parents first; a cycle of issuers is an error."""
        done: list[str] = []
        for name in self.authorities:
            chain: list[str] = []
            current: str | None = name
            while current is not None and current not in done:
                if current in chain:
                    raise ValueError(f"authorities: issuers form a cycle: {' -> '.join([*chain, current])}")
                chain.append(current)
                current = self.authorities[current].issuer
            done.extend(reversed(chain))
        return done


def load_spec(path: Path) -> PkiSpec:
    try:
        return PkiSpec.model_validate(load_yaml(path))
    except ValidationError as exc:
        raise BreakfixError(describe(exc, path)) from None


def issue_all(spec: PkiSpec) -> tuple[dict[str, CertificateAuthority], dict[str, Issued]]:
    """Every authority and certificate of the spec, freshly keyed."""
    from harness.pki import CertificateAuthority, Usage, Validity

    authorities: dict[str, CertificateAuthority] = {}
    for name in spec.issuing_order():
        wanted = spec.authorities[name]
        validity = Validity.days(wanted.days)
        if wanted.issuer is None:
            authorities[name] = CertificateAuthority.root(wanted.common_name, validity=validity)
        else:
            authorities[name] = authorities[wanted.issuer].intermediate(wanted.common_name, validity=validity)
    issued: dict[str, Issued] = {}
    for name, leaf in spec.certificates.items():
        window = Validity.expired() if leaf.expired else Validity.days(leaf.days)
        issued[name] = authorities[leaf.issuer].issue(
            leaf.common_name or (leaf.dns[0] if leaf.dns else name), dns=leaf.dns, uris=leaf.uris, ips=leaf.ips,
            usage=Usage(leaf.usage), validity=window,
        )
    return authorities, issued


def write_all(spec: PkiSpec, directory: Path) -> list[Path]:
    """Issue everything and write it under `directory`: <ca>.crt/.key, <leaf>.crt/.key/.leaf.crt, the trust bundles."""
    from harness.pki import trust_bundle, write_text

    authorities, issued = issue_all(spec)
    written: list[Path] = []
    for name, authority in authorities.items():
        files = authority.write(directory, name)
        written += [files.chain, files.key, files.leaf]
    for name, certificate in issued.items():
        files = certificate.write(directory, name)
        written += [files.chain, files.key, files.leaf]
    for bundle, members in spec.trust.items():
        written.append(write_text(directory / bundle, trust_bundle(*(authorities[member] for member in members))))
    return written


class PkiRuntime:
    """Writes the stack's lab certificates at provision; removes nothing (the workspace holds them)."""

    name = "pki"

    def __init__(self, stack_dir: Path) -> None:
        self.stack_dir = stack_dir

    @property
    def spec_file(self) -> Path:
        return self.stack_dir / SPEC_FILE

    def preflight(self) -> list[str]:
        if not self.spec_file.is_file():
            return [f"{self.spec_file} not found: a scenario that requires pki describes its certificates there"]
        try:
            load_spec(self.spec_file)
        except BreakfixError as exc:
            return [str(exc)]
        return []

    def provision(self, progress: Progress) -> None:
        spec = load_spec(self.spec_file)
        progress(f"issuing {len(spec.authorities)} CA(s) and {len(spec.certificates)} certificate(s) into {spec.out}/")
        write_all(spec, self.stack_dir / spec.out)

    def teardown(self) -> None:
        return None

    def env(self) -> dict[str, str]:
        return {"BREAKFIX_PKI": str(self.stack_dir / load_spec(self.spec_file).out)} if self.spec_file.is_file() else {}


def from_setup(setup: Setup) -> PkiRuntime:
    from harness.manifest import ScenarioManifest

    assert isinstance(setup.manifest, ScenarioManifest), "only scenarios have a stack"
    return PkiRuntime((setup.workspace / setup.manifest.stack).parent)


def findings() -> list[Finding]:
    from harness.registry import Finding

    try:
        import cryptography
    except ImportError:
        return [Finding("pki", "cryptography", False, "pip install 'cryptography>=43' (a dependency of breakfix: reinstall it)")]
    return [Finding("pki", "cryptography", True, f"version {cryptography.__version__}")]
