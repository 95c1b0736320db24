"""`breakfix ui`: bind 127.0.0.1 (never 0.0.0.0), print the URL with this run's token, serve until Ctrl-C."""

from __future__ import annotations

import contextlib
import secrets
import socket
import subprocess
import sys
import threading
import webbrowser
from collections.abc import Callable

from harness.errors import BreakfixError
from harness.loopback import HOST


def bind(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1:`port` (0: a free one the kernel picks, so no port is ever guessed and raced for)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        raise BreakfixError(f"cannot listen on {HOST}:{port} ({exc.strerror or exc}): pick another with --port, or leave it out for a free one") from None
    sock.listen(64)
    return sock


def serve(port: int, open_browser: bool, say: Callable[[str], None]) -> None:
    import uvicorn

    from harness.ui.app import create_app

    sock = bind(port)
    port = sock.getsockname()[1]
    token = secrets.token_urlsafe(24)
    url = f"http://{HOST}:{port}/?token={token}"
    say(f"breakfix ui: {url}")
    say(f"token: {token} (actions need it; the URL above sets it in your browser). Ctrl-C stops the page.")
    # the catalog's scan and this machine's requirement probe take a second or two: done while the URL is being opened
    threading.Thread(target=_warm, daemon=True).start()
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    config = uvicorn.Config(create_app(port, token), log_level="warning", lifespan="off", timeout_graceful_shutdown=2, access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


def _warm() -> None:
    from harness.ui import views

    with contextlib.suppress(Exception):  # a catalog problem is shown by the page's own request, with its message
        views.catalog_rows()


def launch() -> tuple[subprocess.Popen[str], str]:
    """`breakfix ui` in a child process as a user starts it, and the URL it printed (for scripts, tests, benchmarks)."""
    process = subprocess.Popen([sys.executable, "-m", "harness", "ui"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               stdin=subprocess.DEVNULL)
    assert process.stdout is not None
    first = process.stdout.readline()
    if not first.startswith("breakfix ui: http://"):
        process.kill()
        raise BreakfixError(f"breakfix ui did not start: {first}{process.stdout.read()}".strip())
    return process, first.split(": ", 1)[1].strip()
