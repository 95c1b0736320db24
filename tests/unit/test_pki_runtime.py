"""The pki requirement's runtime: a stack's pki.yaml issued into the workspace before containers start."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from harness.pki import load_certificates, subject_alt_names, verify_chain
from harness.runtime.pki import PkiRuntime, load_spec

SPEC = {
    "out": "certs",
    "authorities": {"issuing": {"common_name": "unit issuing", "issuer": "root"}, "root": {"common_name": "unit root"}},
    "certificates": {"api": {"issuer": "issuing", "dns": ["api.unit.test"]}, "old": {"issuer": "root", "usage": "client", "expired": True}},
    "trust": {"ca.crt": ["root"], "both.crt": ["root", "issuing"]},
}


def test_provision_writes_every_file_and_the_chains_verify(tmp_path: Path) -> None:
    (tmp_path / "pki.yaml").write_text(yaml.safe_dump(SPEC))
    runtime = PkiRuntime(tmp_path)
    assert runtime.preflight() == []
    runtime.provision(lambda _: None)
    certs = tmp_path / "certs"
    root = load_certificates((certs / "ca.crt").read_bytes())
    chain = load_certificates((certs / "api.crt").read_bytes())
    assert len(root) == 1 and len(chain) == 2 and len(load_certificates((certs / "api.leaf.crt").read_bytes())) == 1
    verify_chain(chain[0], chain[1:], root, server_name="api.unit.test")  # an issuer declared after its child still signs it
    assert subject_alt_names(chain[0]) == ["DNS:api.unit.test"] and "CN=api.unit.test" in chain[0].subject.rfc4514_string()
    assert stat.S_IMODE((certs / "api.key").stat().st_mode) == 0o600
    assert len(load_certificates((certs / "both.crt").read_bytes())) == 2
    assert runtime.env() == {"BREAKFIX_PKI": str(certs)}


def test_every_provision_issues_new_keys(tmp_path: Path) -> None:
    (tmp_path / "pki.yaml").write_text(yaml.safe_dump(SPEC))
    runtime = PkiRuntime(tmp_path)
    runtime.provision(lambda _: None)
    first = (tmp_path / "certs" / "api.key").read_bytes()
    runtime.provision(lambda _: None)
    assert (tmp_path / "certs" / "api.key").read_bytes() != first


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"authorities": {"a": {"common_name": "a", "issuer": "b"}, "b": {"common_name": "b", "issuer": "a"}}, "certificates": {}, "trust": {}}, "cycle"),
        ({"certificates": {"x": {"issuer": "nope"}}}, "no authority 'nope'"),
        ({"trust": {"t.crt": ["nope"]}}, "no authority 'nope'"),
        ({"out": "../outside"}, "out: '../outside': must stay inside its folder"),
    ],
)
def test_bad_specs_are_preflight_problems(tmp_path: Path, change: dict[str, object], problem: str) -> None:
    (tmp_path / "pki.yaml").write_text(yaml.safe_dump({**SPEC, **change}))
    problems = PkiRuntime(tmp_path).preflight()
    assert len(problems) == 1 and problem in problems[0], problems
    assert "not found" in PkiRuntime(tmp_path / "missing").preflight()[0]


def test_the_scenarios_specs_load() -> None:
    for spec in sorted(Path(__file__).parents[2].glob("scenarios/*/stack/pki.yaml")):
        assert load_spec(spec).authorities, spec
