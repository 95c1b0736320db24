"""What keeps the page the learner's own: loopback only, its own Host/Origin only, a per-run token for actions.

A web page on any site can make the learner's browser send requests to 127.0.0.1, and DNS rebinding
can make those requests look same-origin: the Host header still names the attacker's domain, so
every request whose Host (or Origin, when a browser sends one) is not this server's is refused.
Actions (check, hint, reset, stop) and the observer's stream also need the token `breakfix ui`
printed: as the X-Breakfix-Token header, or the SameSite=Strict cookie set when the printed URL is opened.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]

COOKIE = "breakfix_ui_token"
HEADER = "x-breakfix-token"
SAFE_METHODS = frozenset({"GET", "HEAD"})


def allowed_hosts(port: int) -> frozenset[str]:
    return frozenset({f"127.0.0.1:{port}", f"localhost:{port}"})


def allowed_origins(port: int) -> frozenset[str]:
    return frozenset(f"http://{host}" for host in allowed_hosts(port))


def _headers(scope: Scope) -> dict[str, str]:
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope.get("headers", [])}


def _cookies(header: str) -> dict[str, str]:
    pairs = (part.strip().split("=", 1) for part in header.split(";") if "=" in part)
    return {name: value for name, value in pairs}


def presented_token(scope: Scope) -> str | None:
    """The token a request carries: the header first, then the cookie."""
    headers = _headers(scope)
    return headers.get(HEADER) or _cookies(headers.get("cookie", "")).get(COOKIE)


def token_ok(scope: Scope, token: str) -> bool:
    presented = presented_token(scope)
    return presented is not None and hmac.compare_digest(presented.encode(), token.encode())


def refusal(scope: Scope, port: int, token: str, protected: Callable[[str], bool]) -> tuple[int, str] | None:
    """(status, reason) when a request must be refused, None when it may go on."""
    headers = _headers(scope)
    if headers.get("host") not in allowed_hosts(port):
        return 421, "this page answers only to its own address (http://127.0.0.1:PORT): the Host header names another"
    origin = headers.get("origin")
    if origin is not None and origin not in allowed_origins(port):
        return 403, "cross-origin request refused"
    if (scope["method"] not in SAFE_METHODS or protected(scope["path"])) and not token_ok(scope, token):
        return 403, "this needs the token `breakfix ui` printed (open the URL it printed)"
    return None


class Guard:
    """ASGI middleware applying `refusal`; a GET with ?token= that matches sets the cookie and drops the query."""

    def __init__(self, app: ASGIApp, port: int, token: str, protected: Callable[[str], bool]) -> None:
        self.app = app
        self.port = port
        self.token = token
        self.protected = protected

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = refusal(scope, self.port, self.token, self.protected)
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if refused is None and scope["method"] == "GET" and "token" in query:
            if hmac.compare_digest(query["token"][0].encode(), self.token.encode()):
                await _redirect(send, scope["path"], f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict")
                return
            refused = (403, "wrong token: open the URL `breakfix ui` printed in this run")
        if refused is not None:
            await _plain(send, *refused)
            return
        await self.app(scope, receive, send)


async def _plain(send: Callable[[Any], Awaitable[None]], status: int, text: str) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _redirect(send: Callable[[Any], Awaitable[None]], path: str, cookie: str) -> None:
    await send({"type": "http.response.start", "status": 303,
                "headers": [(b"location", path.encode()), (b"set-cookie", cookie.encode()), (b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})
