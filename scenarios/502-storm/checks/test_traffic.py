"""Traffic through the load balancer: no errors, no hangs, both backends, real app responses."""

import base64
import hashlib
import hmac
import json
from collections import Counter

ENTERPRISE_ENTITLEMENTS = 48  # what release 2024.11.2 puts in an enterprise session


def test_no_server_errors_under_load(lb_load):
    """No request through the load balancer fails under load"""
    failed = lb_load.server_errors()
    sample = ", ".join(sorted({r.path.split("/")[4] for r in failed})[:6])
    assert not failed, (
        f"{len(failed)} of {len(lb_load.responses)} requests failed ({lb_load.histogram()}); "
        f"failing accounts include {sample}"
    )
    assert len(lb_load.responses) == lb_load.planned, f"only {len(lb_load.responses)} of {lb_load.planned} requests completed"


def test_no_request_hangs(lb_load):
    """Requests complete promptly (no hangs behind long timeouts)"""
    # a hang is a request the client gave up on (3 s): generous enough that a busy laptop never
    # trips it, while a stuck backend behind hour-long proxy timeouts always does
    hung = [r for r in lb_load.responses if r.error == "TimeoutError"]
    assert not hung, f"{len(hung)} requests got no answer within 3 s (p99 {lb_load.percentile(0.99):.2f}s)"


def test_every_backend_serves_through_the_lb(lb_load, backends):
    """Both backends serve a fair share of the traffic through the load balancer"""
    served = Counter(r.headers.get("x-served-by", "?") for r in lb_load.responses if r.status == 200)
    total = sum(served.values()) or 1
    shares = ", ".join(f"{name} {served[name] * 100 // total}%" for name in backends)
    starved = [name for name in backends if served[name] < total * 0.25]
    assert not starved, f"backend(s) {', '.join(starved)} get too little traffic through the load balancer ({shares})"


def test_responses_come_from_the_app(lb_load, session_secret):
    """Every 200 is a real, signed payments-api response for the account asked for"""
    for response in lb_load.responses:
        if response.status != 200:
            continue
        try:
            body = json.loads(response.body)
            amount, served_by = body["balance"]["amount"], body["served_by"]
            claimed = body["signature"]
        except (ValueError, KeyError, TypeError):
            raise AssertionError(f"{response.path} returned 200 but not a payments-api balance: {response.body[:80]!r}") from None
        expected = hmac.new(session_secret, f"{body['account']}:{amount}:{served_by}".encode(), hashlib.sha256).hexdigest()
        assert hmac.compare_digest(claimed, expected), f"{response.path}: signature does not verify: not produced by payments-api"
        assert body["account"] in response.path, f"{response.path} answered for another account ({body['account']})"


def _claims(response, secret):
    cookie = response.headers.get("set-cookie", "")
    assert cookie.startswith("pay_session="), f"{response.path}: no pay_session cookie in the response"
    payload, _, signature = cookie.split(";", 1)[0].removeprefix("pay_session=").rpartition(".")
    expected = hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected), f"{response.path}: pay_session signature does not verify"
    return json.loads(base64.urlsafe_b64decode(payload))


def test_enterprise_sessions_are_complete(lb_load, session_secret):
    """Enterprise customers get their full session (every entitlement release 2024.11.2 ships)"""
    enterprise = [r for r in lb_load.responses if r.status == 200 and json.loads(r.body).get("tier") == "enterprise"]
    assert enterprise, "no enterprise account got a successful response"
    for response in enterprise:
        entitlements = _claims(response, session_secret)["entitlements"]
        complete = len(entitlements) == ENTERPRISE_ENTITLEMENTS and all(isinstance(e, dict) and e.get("regions") for e in entitlements)
        assert complete, (
            f"{response.path}: the session carries {len(entitlements)} entitlements in "
            f"{'compact' if entitlements and isinstance(entitlements[0], str) else 'unexpected'} form; "
            f"release 2024.11.2 ships {ENTERPRISE_ENTITLEMENTS} full entitlements"
        )
