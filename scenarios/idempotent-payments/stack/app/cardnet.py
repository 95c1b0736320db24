"""Client of the card network (the processor that moves the money)."""

from __future__ import annotations

import json
import os
from http.client import HTTPConnection
from urllib.parse import quote

HOST = os.environ.get("CARD_NETWORK_HOST", "card-network")
PORT = int(os.environ.get("CARD_NETWORK_PORT", "9000"))
TIMEOUT = 10.0  # the slowest issuer answers in 1.5 s


class CardNetworkError(Exception):
    """The card network could not be reached or gave no usable answer: whether it charged is unknown."""


def _call(method: str, path: str, body: dict | None = None) -> dict:
    connection = HTTPConnection(HOST, PORT, timeout=TIMEOUT)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        connection.request(method, path, payload, {"Content-Type": "application/json"} if payload else {})
        response = connection.getresponse()
        data = response.read()
        if response.status != 200:
            raise CardNetworkError(f"{method} {path}: HTTP {response.status} {data[:200]!r}")
        return json.loads(data)
    except (OSError, ValueError) as exc:
        raise CardNetworkError(f"{method} {path}: {exc}") from exc
    finally:
        connection.close()


def charge(reference: str, account: str, amount: int, currency: str, description: str) -> dict:
    """Execute a charge: {"network_charge", "reference", "status": "succeeded" | "declined"}."""
    return _call("POST", "/v1/charges", {
        "reference": reference, "account": account, "amount": amount, "currency": currency, "description": description,
    })


def charges_with_reference(reference: str) -> list[dict]:
    """Every charge the network executed with this reference (empty: it never charged it)."""
    return _call("GET", f"/v1/charges?reference={quote(reference)}")["data"]
