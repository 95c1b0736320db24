"""The mesh works, and mutual TLS still means something: every server demands a certificate from the
mesh CA (none, a stranger's or an expired one is turned away) and only orders may use payments' admin API."""

import json

import pytest

MESH = "spiffe://mesh.test"
SERVERS = {"payments": 8131, "ledger": 8132}


def _why(body) -> str:
    """The innermost error of a relayed failure (orders -> payments -> ledger), for the learner."""
    while isinstance(body, dict) and isinstance(body.get("upstream"), dict):
        body = body["upstream"]
    text = body.get("error") if isinstance(body, dict) else body
    return " ".join(str(text).split())[:240]


def test_checkout_runs_end_to_end_over_mtls(edge):
    """A checkout goes orders -> payments -> ledger, each hop over mutual TLS with the caller's own identity"""
    status, body = edge("/checkout")
    assert status is not None, f"orders' edge (127.0.0.1:8130) does not answer: {body}"
    assert status == 200, f"checkout fails with HTTP {status}: {_why(body)}"
    payments = body.get("payments") or {}
    ledger = payments.get("ledger") or {}
    assert payments.get("caller") == f"{MESH}/orders", (
        f"payments answered, but saw the caller as {payments.get('caller')!r}, not orders' certificate identity: the orders -> payments hop is not mutual TLS")
    assert ledger.get("caller") == f"{MESH}/payments", (
        f"ledger answered, but saw the caller as {ledger.get('caller')!r}, not payments' certificate identity: the payments -> ledger hop is not mutual TLS")


def test_orders_may_refund(edge):
    """orders can call payments' admin API (refunds) with its own identity"""
    status, body = edge("/refund")
    assert status == 200, f"a refund through orders fails with HTTP {status}: {_why(body)}"
    assert (body.get("payments") or {}).get("caller") == f"{MESH}/orders", f"payments saw the refund's caller as {(body.get('payments') or {}).get('caller')!r}"


def _serves_a_valid_certificate(server, tls, identities, pki_dir):
    answer = tls(SERVERS[server], f"{server}.mesh.test", "/healthz-probe", identities["orders"], verify_with=pki_dir / "root.crt")
    assert answer.status is not None, (
        f"a TLS client that trusts the mesh root and checks the name {server}.mesh.test cannot talk to {server}: {answer.error}")
    assert answer.reached_app, f"{server} turns away a valid mesh client certificate ({answer.describe()})"


def test_payments_certificate_is_valid_for_its_name(tls, identities, pki_dir):
    """payments speaks TLS with a certificate that verifies to the mesh root, is current and names payments.mesh.test"""
    _serves_a_valid_certificate("payments", tls, identities, pki_dir)


def test_ledger_certificate_is_valid_for_its_name(tls, identities, pki_dir):
    """ledger speaks TLS with a certificate that verifies to the mesh root, is current and names ledger.mesh.test"""
    _serves_a_valid_certificate("ledger", tls, identities, pki_dir)


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_client_without_certificate_is_rejected(server, tls):
    """payments and ledger turn away a caller that presents no certificate"""
    answer = tls(SERVERS[server], f"{server}.mesh.test", "/charges" if server == "payments" else "/entries", None)
    assert not answer.reached_app, f"{server} let a caller without any certificate through to its app ({answer.describe()}): mutual TLS is not enforced"


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_certificate_from_another_ca_is_rejected(server, tls, identities):
    """payments and ledger turn away a certificate issued by a CA that is not the mesh's"""
    answer = tls(SERVERS[server], f"{server}.mesh.test", "/charges" if server == "payments" else "/entries", identities["stranger"])
    assert not answer.reached_app, (
        f"{server} let through a certificate from a CA that is not the mesh's (claiming {MESH}/orders; {answer.describe()}): it trusts more than the mesh CA")


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_expired_certificate_is_rejected(server, tls, identities):
    """payments and ledger turn away an expired certificate, even from the mesh CA"""
    answer = tls(SERVERS[server], f"{server}.mesh.test", "/charges" if server == "payments" else "/entries", identities["expired"])
    assert not answer.reached_app, f"{server} let through an expired mesh certificate ({answer.describe()})"


@pytest.mark.parametrize("caller", ["ledger", "orders-lookalike"])
def test_only_orders_may_call_payments_admin(caller, tls, identities):
    """Only orders' identity may call payments' /admin API: another valid mesh identity is refused"""
    identity = identities[caller]
    answer = tls(SERVERS["payments"], "payments.mesh.test", "/admin/refunds", identity, body={"order": "ord_probe"})
    granted = answer.reached_app and answer.status is not None and 200 <= answer.status < 300
    assert not granted, (
        f"payments' /admin/refunds accepted a call from {identity.name.removeprefix('probe-')} "
        f"({MESH}/{identity.name.removeprefix('probe-')}): {json.dumps(answer.body)[:160]}; only {MESH}/orders may call it")
