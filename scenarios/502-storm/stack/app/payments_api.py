"""payments-api: account balances for the dashboard, with a signed session cookie.

Release 2024.11 embeds each account's entitlements in the session cookie ("full" claims) so
the mobile app no longer calls /entitlements on every screen. Enterprise accounts carry many
entitlements, so their cookie is several kilobytes.
"""

import base64
import hashlib
import hmac
import json
import os
import re

RELEASE = "2024.11.2"
BACKEND_ID = os.environ.get("BACKEND_ID", "unknown")
SECRET = os.environ.get("SESSION_SECRET", "").encode()
with open(os.path.join(os.path.dirname(__file__), "settings.json")) as settings_file:
    SETTINGS = json.load(settings_file)
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1", "ap-northeast-1", "sa-east-1"]
PRODUCTS = ["payouts", "cards", "treasury", "billing", "connect", "radar", "terminal", "issuing"]
ACCOUNT_PATH = re.compile(r"^/api/v1/accounts/acct_(\d{4})/balance$")


def tier(number: int) -> str:
    return "enterprise" if number % 3 == 0 else "standard"


def entitlements(number: int) -> list:
    count = 48 if tier(number) == "enterprise" else 3
    full = SETTINGS.get("session_claims", "full") == "full"
    result = []
    for index in range(count):
        product = PRODUCTS[index % len(PRODUCTS)]
        code = f"{product}:{index:03d}"
        if full:
            result.append({"code": code, "product": product, "regions": REGIONS[: 2 + index % 6], "limit_usd": 10000 * (1 + index % 7)})
        else:
            result.append(code)
    return result


def sign(payload: bytes) -> str:
    return hmac.new(SECRET, payload, hashlib.sha256).hexdigest()


def session_cookie(account: str, number: int) -> str:
    claims = {"sub": account, "tier": tier(number), "release": RELEASE, "entitlements": entitlements(number)}
    payload = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).decode()
    return f"pay_session={payload}.{sign(payload.encode())}; Path=/; HttpOnly; Secure; SameSite=Lax"


def balance(account: str, number: int) -> dict:
    amount = (number * 7919) % 1_000_000
    body = {"account": account, "tier": tier(number), "balance": {"amount": amount, "currency": "USD"}, "served_by": BACKEND_ID, "release": RELEASE}
    body["signature"] = sign(f"{account}:{amount}:{BACKEND_ID}".encode())
    return body


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/healthz":
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Served-By", BACKEND_ID)])
        return [b"ok\n"]
    match = ACCOUNT_PATH.match(path)
    if not match:
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return [b'{"error":"not found"}']
    number = int(match.group(1))
    account = f"acct_{match.group(1)}"
    body = json.dumps(balance(account, number)).encode()
    start_response("200 OK", [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("X-Served-By", BACKEND_ID),
        ("Set-Cookie", session_cookie(account, number)),
    ])
    return [body]
