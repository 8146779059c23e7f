"""Binance open interest over REST: no stream carries it, so the binance ingester polls `/fapi/v1/openInterest`.

One symbol per `ingest.binance_oi_every_s` (0.25 s: 4 requests/s, weight 1 each, 240 of the 2400 weight a
minute an IP may use, leaving room for anything else on the address), round-robin over the tracked symbols,
so each symbol is refreshed every N x 0.25 s (3 s for the 12 default symbols). A failure backs off (doubling
up to 60 s; a 429/418 honours Retry-After) and is logged on the 1st, 2nd, 4th... failure in a row, never
ending the task: the ingester exits when any of its tasks ends. The reply is parsed by the pure
`binance.parse_open_interest`; the request is an httpx async GET, so a stop cancels it at once (a blocking
GET in a thread held the process up to its timeout at exit).
Against the simulator (any URL that is not Binance's) it polls the simulator's HTTP endpoint on the same port.
Checked against Binance's USD-M docs (Open Interest, weight 1; IP limit 2400/min) on 2026-12-01.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlparse

import httpx

from common.schema import MarketContext
from ingest.exchanges import binance
from ingest.exchanges.context_fields import DEFAULT_SYMBOLS
from ingest.venue_setup import is_venue_host

log = logging.getLogger(__name__)

REST_URL = "https://fapi.binance.com"
TIMEOUT_S = 5.0
BACKOFF_MAX_S = 60.0


def rest_base(ws_url: str) -> str:
    """Binance's REST host for its websocket URL; the simulator's own http://host:port for anything else."""
    if is_venue_host(ws_url, binance.URL):
        return REST_URL
    u = urlparse(ws_url)
    return f"{'https' if u.scheme == 'wss' else 'http'}://{u.netloc}"


class OpenInterestPoller:
    """Polls each symbol in turn and hands each reply, as a MarketContext, to `sink`."""

    def __init__(self, ws_url: str, symbols: tuple[str, ...], every_s: float, clock: Callable[[], int],
                 sink: Callable[[list[MarketContext]], None],
                 fetch: Callable[[str], Awaitable[bytes]] | None = None) -> None:
        self.base = rest_base(ws_url)
        self.symbols = tuple(dict.fromkeys(symbols or DEFAULT_SYMBOLS))
        self.every_s = every_s
        self.clock = clock
        self.sink = sink
        self.fetch = fetch or self._get
        self._client: httpx.AsyncClient | None = None  # one connection pool while `run` runs
        self.polls = self.failures = 0
        self._streak = 0

    def url(self, symbol: str) -> str:
        return f"{self.base}{binance.OPEN_INTEREST_PATH}?symbol={binance.native_symbol(symbol)}"

    async def run(self) -> None:
        log.info("binance: polling open interest of %d symbol(s) at %s, one every %.2f s",
                 len(self.symbols), self.base, self.every_s)
        async with httpx.AsyncClient(timeout=TIMEOUT_S) as self._client:
            i = 0
            while True:
                symbol = self.symbols[i % len(self.symbols)]
                i += 1
                wait = await self.poll_once(symbol)
                await asyncio.sleep(wait)

    async def _get(self, url: str) -> bytes:
        if self._client is None:  # a single poll outside `run`
            async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
                return await self._read(client, url)
        return await self._read(self._client, url)

    @staticmethod
    async def _read(client: httpx.AsyncClient, url: str) -> bytes:
        resp = await client.get(url)
        resp.raise_for_status()
        return resp.content

    async def poll_once(self, symbol: str) -> float:
        """One request; returns how long to wait before the next (backoff after a failure)."""
        self.polls += 1
        try:
            body = await self.fetch(self.url(symbol))
            ctx = binance.parse_open_interest(body, self.clock())
        except Exception as exc:  # network, HTTP status, a bad reply: counted, logged, retried later
            return self._failed(symbol, exc)
        self._streak = 0
        self.sink([ctx])
        return self.every_s

    def _failed(self, symbol: str, exc: Exception) -> float:
        self.failures += 1
        self._streak += 1
        wait = min(self.every_s * 2 ** self._streak, BACKOFF_MAX_S)
        if isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code in (418, 429):
            retry = exc.response.headers.get("Retry-After")
            wait = max(wait, float(retry) if retry and retry.isdigit() else BACKOFF_MAX_S)
        if self._streak & (self._streak - 1) == 0:  # 1st, 2nd, 4th, 8th... failure in a row
            log.warning("binance: open interest of %s failed (%d in a row, %d in all): %s; next in %.1f s",
                        symbol, self._streak, self.failures, str(exc)[:200], wait)
        return wait
