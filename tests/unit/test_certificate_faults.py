"""Certificate fault kinds: on a real lab PKI (files as the pki runtime writes them), each reissues the leaf
with only its one change, reloads the services named, and revert puts every byte back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.x509.verification import VerificationError

from harness.errors import BreakfixError
from harness.faults import FaultContext, build
from harness.manifest import FaultSpec
from harness.pki import CertificateAuthority, Usage, load_certificates, subject_alt_names, usage_of, verify_chain


class RecordingDocker:
    def __init__(self, code: int = 0) -> None:
        self.code = code
        self.calls: list[tuple[str, list[str]]] = []

    def exec(self, service: str, command: list[str]) -> tuple[int, str]:
        self.calls.append((service, command))
        return self.code, "" if self.code == 0 else "nginx: [emerg] bad"


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    directory = tmp_path / "workspace" / "stack" / "pki"
    root = CertificateAuthority.root("unit root")
    issuing = root.intermediate("unit issuing")
    root.write(directory, "root")
    issuing.write(directory, "issuing")
    issuing.issue("ledger", dns=["ledger.mesh.test"], uris=["spiffe://mesh.test/ledger"], usage=Usage.BOTH).write(directory, "ledger")
    return directory


def context(tmp_path: Path, docker: RecordingDocker) -> FaultContext:
    return FaultContext("unit", tmp_path / "entry", tmp_path / "state", tmp_path / "workspace", docker_runtime=docker)  # type: ignore[arg-type]


def make(kind: str, **params: Any) -> Any:
    return build(FaultSpec(kind=kind, params={"certificate": "ledger", "issuer": "issuing", **params}), 0)


def leaf(pki: Path) -> Any:
    return load_certificates((pki / "ledger.leaf.crt").read_bytes())[0]


def snapshot(pki: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(pki.iterdir())}


def test_expired_reissues_an_expired_certificate_and_reverts(tmp_path: Path, pki: Path) -> None:
    docker = RecordingDocker()
    ctx = context(tmp_path, docker)
    before = snapshot(pki)
    fault = make("certificate-expired", days_ago=3, reload_services=["ledger", "payments"])
    fault.inject(ctx)
    fault.inject(ctx)  # idempotent: the original saved once
    now = leaf(pki)
    assert now.not_valid_after_utc < datetime.now(UTC)
    assert subject_alt_names(now) == ["DNS:ledger.mesh.test", "URI:spiffe://mesh.test/ledger"] and usage_of(now) is Usage.BOTH
    chain = load_certificates((pki / "ledger.crt").read_bytes())
    assert chain[0] == now and len(chain) == 2
    assert docker.calls[:2] == [("ledger", ["nginx", "-s", "reload"]), ("payments", ["nginx", "-s", "reload"])]
    fault.revert(ctx)
    fault.revert(ctx)
    assert snapshot(pki) == before


def test_san_drift_changes_only_the_names_given(tmp_path: Path, pki: Path) -> None:
    ctx = context(tmp_path, RecordingDocker())
    root = load_certificates((pki / "root.crt").read_bytes())[0]
    fault = make("certificate-san-drift", dns=["ledger.svc.internal"])
    fault.inject(ctx)
    now = leaf(pki)
    assert subject_alt_names(now) == ["DNS:ledger.svc.internal", "URI:spiffe://mesh.test/ledger"]
    with pytest.raises(VerificationError):
        verify_chain(now, load_certificates((pki / "ledger.crt").read_bytes())[1:], [root], server_name="ledger.mesh.test")
    fault.revert(ctx)
    verify_chain(leaf(pki), load_certificates((pki / "ledger.crt").read_bytes())[1:], [root], server_name="ledger.mesh.test")


def test_rotated_issuer_signs_with_a_new_intermediate_and_reverts(tmp_path: Path, pki: Path) -> None:
    ctx = context(tmp_path, RecordingDocker())
    before = snapshot(pki)
    fault = make("certificate-rotated-issuer", new_issuer="issuing-2026", common_name="unit issuing 2026", chain=False)
    fault.inject(ctx)
    new_ca = load_certificates((pki / "issuing-2026.crt").read_bytes())[0]
    fault.inject(ctx)  # reuses the intermediate it made
    assert load_certificates((pki / "issuing-2026.crt").read_bytes())[0] == new_ca
    now = leaf(pki)
    assert now.issuer == new_ca.subject
    assert load_certificates((pki / "ledger.crt").read_bytes()) == [now]  # chain: false, the leaf alone
    root = load_certificates((pki / "root.crt").read_bytes())[0]
    verify_chain(now, [new_ca], [root], server_name="ledger.mesh.test")  # a real chain to the same root
    fault.revert(ctx)
    assert snapshot(pki) == before


def test_a_failed_reload_is_the_fault_s_error(tmp_path: Path, pki: Path) -> None:
    with pytest.raises(BreakfixError, match="reload nginx -s reload failed in ledger"):
        make("certificate-expired", reload_services=["ledger"]).inject(context(tmp_path, RecordingDocker(code=1)))


def test_a_missing_pki_says_so(tmp_path: Path) -> None:
    with pytest.raises(BreakfixError, match="no certificate 'ledger'"):
        make("certificate-expired").inject(context(tmp_path, RecordingDocker()))


@pytest.mark.parametrize(
    ("kind", "params", "problem"),
    [
        ("certificate-san-drift", {}, "give dns, uris or both"),
        ("certificate-expired", {"directory": "../elsewhere"}, r"directory: .*must stay inside its folder"),
        ("certificate-expired", {"days_ago": 0}, "days_ago"),
        ("certificate-expired", {"certificate": "Bad Name"}, "certificate"),
        ("certificate-rotated-issuer", {"new_issuer": "issuing", "common_name": "x"}, "overwrite"),
        ("certificate-rotated-issuer", {"new_issuer": "n"}, "common_name"),
        ("certificate-expired", {"colour": "red"}, "colour"),
    ],
)
def test_bad_params_are_refused(kind: str, params: dict[str, Any], problem: str) -> None:
    with pytest.raises(BreakfixError, match=problem):
        make(kind, **params)
