"""Aster futures protocol for the simulator: Binance's market streams, served under `/aster` (its own base)."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from liqcascade.sim import binance
from liqcascade.sim.session import Session

NAME = "aster"
THROTTLE_S = binance.THROTTLE_S  # "only the latest one liquidation order within 1000ms" per symbol
PREFIX = "aster"  # the simulator's stand-in for fstream.asterdex.com, which has /ws and /stream at its root

# Same requests, acks, errors, payloads and 1/symbol/s snapshotting as Binance.
on_client_message, encode, frame, throttle_key = (binance.on_client_message, binance.encode, binance.frame,
                                                  binance.throttle_key)


def open_session(path: str) -> Session | None:
    """`/aster/ws/<stream>`, `/aster/ws` (then SUBSCRIBE) or `/aster/stream?streams=a/b` (combined)."""
    u = urlparse(path)
    parts = [p for p in u.path.split("/") if p]
    if len(parts) < 2 or parts[0] != PREFIX or parts[1] not in ("ws", "stream"):
        return None
    streams = set(parts[2:3])
    if parts[1] == "stream":
        for value in parse_qs(u.query).get("streams", []):
            streams.update(s for s in value.split("/") if s)
    return Session(NAME, streams=streams, combined=parts[1] == "stream")
