"""Aster perpetual futures: `!forceOrder@arr` liquidations and `btcusdt@aggTrade` prices (Binance's protocol).

Real frame (Aster futures API docs, "All Market Liquidation Order Streams", combined mode):
    {"stream":"!forceOrder@arr","data":{"e":"forceOrder","E":1568014460893,"o":{"s":"BTCUSDT",
     "S":"SELL","o":"LIMIT","f":"IOC","q":"0.014","p":"9910","ap":"9910","X":"FILLED","l":"0.014",
     "z":"0.014","T":1568014460893}}}
-> a long liquidated (S=SELL closed a long), qty z=0.014 BTC, price ap, ts_event o.T.

Aster serves Binance's USD-M market-stream protocol field for field, so the frames go through
Binance's parser (`binance.parse_as`), attributed to "aster". What differs, verified 2026-12-01
against Aster's API docs (github.com/asterdex/api-docs, futures v3; also the asterdex skills hub
"aster-api-websocket-v3"): the base is `wss://fstream.asterdex.com` with `/ws` and `/stream`
directly under it (there is no `/market` split as on Binance since 2026-04-23); the server pings
every 5 minutes and closes a connection at 24 h; at most 10 incoming messages per second and 200
streams per connection. Throttled like Binance: "only the latest one liquidation order within
1000ms" per symbol is pushed, so counts are censored.
"""
from __future__ import annotations

from ingest.exchanges import binance
from ingest.exchanges.base import Event

NAME = "aster"
URL = "wss://fstream.asterdex.com"
COMPLETENESS = "throttled"  # "only the latest one liquidation order within 1000ms" per symbol
KEEPALIVE: tuple[str, float] | None = None  # the server pings every 5 min; the websockets library answers
STALE_AFTER_S = 30.0  # aggTrade on BTCUSDT never pauses this long on a live connection
MAX_CONNECTION_S = 23.5 * 3600  # Aster closes at 24 h, as Binance does; rotate before

# The same combined-stream URL (`<base>/stream?streams=...`) and no subscribe messages.
streams, url, subscribe_messages = binance.streams, binance.url, binance.subscribe_messages


def parse(frame: str | bytes, ts_recv_ns: int) -> list[Event]:
    return binance.parse_as(NAME, frame, ts_recv_ns, COMPLETENESS)
