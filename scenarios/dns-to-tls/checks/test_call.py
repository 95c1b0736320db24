"""The client's own call: https://api.payments.test, verified, through the load balancer, answered by the API."""

import hashlib
import hmac
import json
import secrets

from harness.checks import BreakfixError

NAME = "api.payments.test"


def test_client_calls_the_api_over_verified_tls(client, address, inspect):
    """From the client, curl https://api.payments.test/v1/status (full verification) gets a real answer of the API through the load balancer"""
    nonce = secrets.token_hex(8)
    code, output = client(f"curl -sS --max-time 8 -H 'X-Request-Nonce: {nonce}' -w '\\n%{{http_code}} %{{remote_ip}}' https://{NAME}/v1/status 2>&1")
    lines = output.strip().splitlines()
    error = next((line for line in lines if line.startswith("curl:")), lines[-1] if lines else "no output")
    assert code == 0, f"curl https://{NAME}/v1/status from the client fails (exit {code}): {error}"
    status, remote = lines[-1].split()
    assert status == "200", f"https://{NAME}/v1/status answers {status}: {' '.join(lines[:-1])[:200]}"
    lb = address("lb")
    assert remote == lb, f"the client reached {NAME} at {remote}, not through the load balancer ({lb})"
    env = dict(item.split("=", 1) for item in inspect("api")["Config"]["Env"])
    try:
        body = json.loads("\n".join(lines[:-1]))
    except ValueError:
        body = {}
    expected = hmac.new(env["API_SECRET"].encode(), nonce.encode(), hashlib.sha256).hexdigest()
    assert body.get("service") == "payments-api" and hmac.compare_digest(str(body.get("mac", "")), expected), (
        f"the answer is not the payments API's own (its signature of the request does not check out): {' '.join(lines[:-1])[:200]}"
    )


def test_client_verifies_certificates(client):
    """The client still refuses a server whose certificate it cannot verify (verification is not switched off)"""
    # a throwaway self-signed server for the same name on the client's loopback: a verifying client must refuse it
    code, output = client(
        "cd /tmp && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=" + NAME
        + f" -addext subjectAltName=DNS:{NAME} -keyout bf-probe.key -out bf-probe.crt >/dev/null 2>&1"
        + " && (timeout 10 openssl s_server -quiet -accept 127.0.0.1:9443 -cert bf-probe.crt -key bf-probe.key -www >/dev/null 2>&1 &)"
        + " && for i in $(seq 100); do ss -ltn | grep -q '127.0.0.1:9443 ' && break; sleep 0.1; done"
        + f" && curl -sS --max-time 5 -o /dev/null --resolve {NAME}:9443:127.0.0.1 https://{NAME}:9443/ 2>&1; echo \"exit=$?\"; pkill -f 'accept 127.0.0.1:9443' || true"
    )
    exit_line = [line for line in output.splitlines() if line.startswith("exit=")]
    assert exit_line, f"could not run the verification probe in the client: {output.strip()[-200:]}"
    exit_code = int(exit_line[-1].split("=", 1)[1])
    assert exit_code != 0, (
        "the client accepted a self-signed certificate no CA vouches for: its curl does not verify certificates "
        "(-k / --insecure, or `insecure` in a .curlrc?)"
    )
    if exit_code not in (35, 51, 60):  # not a verdict on verification: the probe itself did not work
        raise BreakfixError(f"the verification probe did not reach its test server (curl exit {exit_code}): {output.strip()[-200:]}")
