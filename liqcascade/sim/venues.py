"""The simulator's venue protocol registry and the URLs an ingester uses to reach each one."""
from __future__ import annotations

from types import ModuleType

from liqcascade.sim import aster, binance, bitget, bitmex, bybit, deribit, dydx, gate, hyperliquid, lighter, okx

SIM_VENUES: dict[str, ModuleType] = {m.NAME: m for m in (binance, bybit, okx, hyperliquid, aster, lighter, dydx,
                                                        gate, bitget, deribit, bitmex)}

# Base URL per venue, relative to the simulator's ws://host:port (what `ingest.urls` should hold).
SIM_PATHS = {"binance": "/market", "bybit": "/v5/public/linear", "okx": "/ws/v5/public", "hyperliquid": "/ws",
             "aster": "/aster", "lighter": "/lighter/stream", "dydx": "/v4/ws",
             "gate": "/v4/ws/usdt", "bitget": "/v2/ws/public", "deribit": "/ws/api/v2", "bitmex": "/realtime"}


def sim_urls(host: str, port: int, venues: list[str]) -> dict[str, str]:
    return {v: f"ws://{host}:{port}{SIM_PATHS[v]}" for v in venues}
