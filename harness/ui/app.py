"""The ASGI app: three pages (catalog, entry, active instance), their JSON, the actions and the signal stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from harness import catalog
from harness.errors import BreakfixError
from harness.manifest import SLUG
from harness.ui import views
from harness.ui.actions import ACTIONS, Busy, Runner
from harness.ui.observer import Observer
from harness.ui.security import Guard

STATIC = Path(__file__).parent / "static"
PUSH_EVERY = 0.5  # seconds between looks at the observer's buffer for a connected page
HEARTBEAT = 15.0  # a comment line now and then, so a dead connection is noticed and the observer stops


def _page(name: str) -> Any:
    async def page(request: Request) -> Response:
        return FileResponse(STATIC / name, headers={"cache-control": "no-store"})

    return page


async def _catalog(request: Request) -> Response:
    return JSONResponse(await run_in_threadpool(views.catalog_rows))


async def _entry(request: Request) -> Response:
    entry_id = request.path_params["entry_id"]
    if not SLUG.match(entry_id):
        return JSONResponse({"error": "not an entry id"}, status_code=404)
    try:
        entry = await run_in_threadpool(catalog.find, entry_id)
    except BreakfixError as exc:
        return JSONResponse({"error": str(exc)}, status_code=404)
    return JSONResponse(await run_in_threadpool(views.entry_page, entry))


async def _status(request: Request) -> Response:
    try:
        return JSONResponse(await run_in_threadpool(views.status))
    except BreakfixError as exc:
        return JSONResponse({"active": False, "error": str(exc)})


def create_app(port: int, token: str, *, observer: Observer | None = None, runner: Runner | None = None) -> Guard:
    observer = observer or Observer()
    runner = runner or Runner()

    async def action(request: Request) -> Response:
        name = request.path_params["action"]
        if name not in ACTIONS:
            return JSONResponse({"error": f"unknown action {name}"}, status_code=404)
        try:
            outcome = await run_in_threadpool(runner.run, name)
        except Busy as exc:
            return JSONResponse({"error": str(exc)}, status_code=409)
        return JSONResponse(outcome.as_json())

    async def stream(request: Request) -> Response:
        async def events() -> AsyncIterator[str]:
            observer.subscribe()
            try:
                seen, quiet = 0, 0.0
                yield "retry: 2000\n\n"
                while True:
                    points = observer.since(seen)
                    for point in points:
                        seen = point["seq"]
                        yield f"data: {json.dumps(point)}\n\n"
                    quiet = 0.0 if points else quiet + PUSH_EVERY
                    if quiet >= HEARTBEAT:
                        quiet = 0.0
                        yield ": still here\n\n"
                    await asyncio.sleep(PUSH_EVERY)
            finally:
                observer.unsubscribe()  # the page went away: the last one out stops the observer

        return StreamingResponse(events(), media_type="text/event-stream", headers={"cache-control": "no-store", "x-accel-buffering": "no"})

    app = Starlette(routes=[
        Route("/", _page("catalog.html")),
        Route("/entry/{entry_id}", _page("entry.html")),
        Route("/active", _page("active.html")),
        Route("/api/catalog", _catalog),
        Route("/api/entry/{entry_id}", _entry),
        Route("/api/status", _status),
        Route("/api/signals", stream),
        Route("/api/{action}", action, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ])
    app.state.observer = observer
    # the stream starts the observer (traffic to the system under test): it needs the token like an action
    return Guard(app, port, token, protected=lambda path: path == "/api/signals")
