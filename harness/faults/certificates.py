"""Certificate faults: a rotation gone wrong, on the lab CA files a `pki` scenario provisions.

Each reissues one leaf of the workspace's lab PKI (harness.runtime.pki writes it: <name>.crt, the chain;
<name>.key; <name>.leaf.crt) with a fresh key, from the CA files beside it, keeping what the current
certificate says except the one thing the fault changes, then reloads the services that read it:

    certificate-expired          the new certificate's validity ended days ago
    certificate-san-drift        its DNS/URI names are not the ones its callers check
    certificate-rotated-issuer   signed by a new intermediate (created beside the others) that the
                                 trust bundles do not hold

Revert puts back the original bytes of every file it rewrote and removes the files it created.
"""

from __future__ import annotations

import base64
from abc import abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

from pydantic import Field, model_validator

from harness.errors import BreakfixError
from harness.faults import Fault, FaultContext, FaultParams, register
from harness.faults.files import run_reload
from harness.pki import CertificateAuthority, Issued, Validity, load_authority, load_certificates, reissue, write_text
from harness.validation import RelativePathInside

if TYPE_CHECKING:
    from cryptography import x509

Stem = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")]


class CertificateParams(FaultParams):
    """Which leaf of the lab PKI, who signed it, and who must reload after it changes."""

    directory: RelativePathInside = Field(default="stack/pki", description="the PKI folder in the workspace (the stack's pki.yaml `out`)")
    certificate: Stem = Field(description="file stem of the leaf: <name>.crt, <name>.key, <name>.leaf.crt")
    issuer: Stem = Field(description="file stem of the CA that signed it (and signs its reissue)")
    root: Stem = Field(default="root", description="file stem of the root CA")
    chain: bool = Field(default=True, description="false: <name>.crt gets the leaf alone")
    reload_services: list[str] = Field(default_factory=list, description="services that re-read their certificates after the change")
    reload: list[str] = Field(default_factory=lambda: ["nginx", "-s", "reload"], min_length=1)


class ExpiredParams(CertificateParams):
    days_ago: float = Field(default=1, gt=0, le=3650, description="how long ago its validity ended")


class SanDriftParams(CertificateParams):
    dns: list[str] | None = Field(default=None, description="the DNS names it gets instead of its own (none: keep them)")
    uris: list[str] | None = Field(default=None, description="the URI names it gets instead of its own (none: keep them)")

    @model_validator(mode="after")
    def _changes_something(self) -> SanDriftParams:
        if self.dns is None and self.uris is None:
            raise ValueError("give dns, uris or both: the names the reissued certificate carries")
        return self


class RotatedIssuerParams(CertificateParams):
    new_issuer: Stem = Field(description="file stem of the new intermediate, written beside the other CAs")
    common_name: str = Field(min_length=1, max_length=64, description="the new intermediate's common name")

    @model_validator(mode="after")
    def _new(self) -> RotatedIssuerParams:
        if self.new_issuer in (self.issuer, self.root, self.certificate):
            raise ValueError(f"new_issuer {self.new_issuer!r} would overwrite an existing file of the PKI")
        return self


CP = TypeVar("CP", bound=CertificateParams)


def _suffixes(stem: str) -> list[str]:
    return [f"{stem}.crt", f"{stem}.key", f"{stem}.leaf.crt"]


class CertificateReissue(Fault[CP]):
    """Reissue the leaf (keeping the original files for revert), then reload its readers."""

    def _directory(self, ctx: FaultContext) -> Path:
        if ctx.workspace is None:
            raise BreakfixError(f"{self.kind}: needs the learner's workspace (the lab PKI lives there)")
        directory = ctx.workspace / self.params.directory
        if not (directory / f"{self.params.certificate}.leaf.crt").is_file():
            raise BreakfixError(f"{self.kind}: no certificate {self.params.certificate!r} in {directory} (does the scenario require pki?)")
        return directory

    def _authority(self, directory: Path, stem: str) -> CertificateAuthority:
        root = None if stem == self.params.root else directory / f"{self.params.root}.leaf.crt"
        try:
            return load_authority(directory / f"{stem}.crt", directory / f"{stem}.key", root)
        except (OSError, ValueError) as exc:
            raise BreakfixError(f"{self.kind}: cannot load CA {stem!r} from {directory}: {exc}") from None

    @abstractmethod
    def _reissue(self, directory: Path, current: x509.Certificate) -> Issued:
        ...

    def _created(self) -> list[str]:
        """Files the fault adds to the PKI folder (removed on revert)."""
        return []

    def _reload(self, ctx: FaultContext) -> None:
        for service in self.params.reload_services:
            run_reload(ctx, self.kind, service, self.params.reload)

    def inject(self, ctx: FaultContext) -> None:
        params = self.params
        directory = self._directory(ctx)
        saved = ctx.load(self.key)
        if saved is None:  # the first original only: a second inject must not save the fault as the original
            saved = {name: base64.b64encode((directory / name).read_bytes()).decode() for name in _suffixes(params.certificate) if (directory / name).exists()}
            ctx.save(self.key, saved)
        current = load_certificates(base64.b64decode(saved[f"{params.certificate}.leaf.crt"]))[0]
        issued = self._reissue(directory, current)
        write_text(directory / f"{params.certificate}.crt", issued.chain_pem if params.chain else issued.cert_pem)
        write_text(directory / f"{params.certificate}.key", issued.key_pem, private=True)
        write_text(directory / f"{params.certificate}.leaf.crt", issued.cert_pem)
        self._reload(ctx)

    def revert(self, ctx: FaultContext) -> None:
        saved = ctx.load(self.key)
        if saved is None or ctx.workspace is None:
            return
        directory = ctx.workspace / self.params.directory
        for name, data in saved.items():
            (directory / name).write_bytes(base64.b64decode(data))
        for name in self._created():
            (directory / name).unlink(missing_ok=True)
        self._reload(ctx)
        ctx.forget(self.key)


@register
class CertificateExpired(CertificateReissue[ExpiredParams]):
    kind = "certificate-expired"

    def _reissue(self, directory: Path, current: x509.Certificate) -> Issued:
        return reissue(self._authority(directory, self.params.issuer), current, validity=Validity.expired(days_ago=self.params.days_ago))


@register
class CertificateSanDrift(CertificateReissue[SanDriftParams]):
    kind = "certificate-san-drift"

    def _reissue(self, directory: Path, current: x509.Certificate) -> Issued:
        return reissue(self._authority(directory, self.params.issuer), current, dns=self.params.dns, uris=self.params.uris)


@register
class CertificateRotatedIssuer(CertificateReissue[RotatedIssuerParams]):
    kind = "certificate-rotated-issuer"

    def _created(self) -> list[str]:
        return _suffixes(self.params.new_issuer)

    def _reissue(self, directory: Path, current: x509.Certificate) -> Issued:
        files = directory / f"{self.params.new_issuer}.crt"
        if files.exists():  # a second inject: the intermediate the first one made
            new_ca = self._authority(directory, self.params.new_issuer)
        else:
            new_ca = self._authority(directory, self.params.root).intermediate(self.params.common_name)
            new_ca.write(directory, self.params.new_issuer)
        return reissue(new_ca, current)
