"""The ASGI app: the page, `/api/state`, `/events` (SSE), `/metrics`, `/livez`, `/readyz`."""
from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from common.config import Config
from publisher.dashboard.feed import Feed
from publisher.dashboard.health import publisher_metrics, readiness
from publisher.dashboard.history import REFRESH_S, StoredTotals
from publisher.dashboard.prom import exposition
from publisher.dashboard.state import WINDOWS_S, DashboardState

STATIC = Path(__file__).parent / "static"
KEEPALIVE_S = 15.0  # an SSE comment this often keeps proxies from closing an idle stream
STOP_CHECK_S = 0.25  # open streams notice a stop this fast (uvicorn waits for them before exiting)


class JSON(JSONResponse):
    def render(self, content: object) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def create_app(cfg: Config, clock: Callable[[], int] = time.time_ns,
               stopping: Callable[[], bool] = lambda: False) -> Starlette:
    """The app; `stopping()` turning true ends every open /events stream so the server can exit."""
    state = DashboardState(cfg, clock())
    feed = Feed(cfg, state, clock)
    ipc_dir = cfg.pipeline.ipc_dir

    stored = StoredTotals(cfg)

    async def read_store() -> None:
        while stored.url:
            await asyncio.to_thread(stored.refresh, WINDOWS_S, clock(), state.start_ns)
            state.stored_totals = stored.latest
            await asyncio.sleep(REFRESH_S)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await feed.start()
        reader = asyncio.create_task(read_store())
        try:
            yield
        finally:
            reader.cancel()
            await feed.stop()

    async def index(_request: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    async def api_state(_request: Request) -> Response:
        return JSON(state.snapshot(clock()))

    async def events(request: Request) -> Response:
        queue = feed.subscribe()

        async def stream() -> AsyncIterator[bytes]:
            idle_s = 0.0
            try:
                while not stopping():
                    try:
                        body = await asyncio.wait_for(queue.get(), STOP_CHECK_S)
                    except TimeoutError:
                        idle_s += STOP_CHECK_S
                        if idle_s < KEEPALIVE_S:
                            continue
                        body = b": keepalive\n\n"
                    if body is None:  # the feed stopped
                        return
                    idle_s = 0.0
                    yield body
            finally:
                feed.unsubscribe(queue)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def livez(_request: Request) -> Response:
        return JSON({"live": True, "messages": feed.received})

    async def readyz(_request: Request) -> Response:
        pub = await asyncio.to_thread(publisher_metrics, ipc_dir)
        r = readiness(state, clock(), pub)
        return JSON({"ready": r.ready, "reasons": r.reasons, "checks": r.checks}, status_code=200 if r.ready else 503)

    async def prometheus(_request: Request) -> Response:
        body, content_type = await asyncio.to_thread(exposition, ipc_dir)
        return Response(body, media_type=content_type)

    app = Starlette(routes=[
        Route("/", index), Route("/api/state", api_state), Route("/events", events),
        Route("/favicon.ico", lambda _r: Response(status_code=204)),
        Route("/livez", livez), Route("/readyz", readyz), Route("/metrics", prometheus),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ], lifespan=lifespan)
    app.state.dashboard = state
    app.state.feed = feed
    return app
