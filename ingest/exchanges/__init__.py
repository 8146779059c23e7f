"""The explicit venue registry; the CLI validates names against it."""
from __future__ import annotations

from types import ModuleType

from ingest.exchanges import aster, binance, bitget, bitmex, bybit, deribit, dydx, gate, hyperliquid, lighter, okx

EXCHANGES: dict[str, ModuleType] = {
    binance.NAME: binance,
    bybit.NAME: bybit,
    okx.NAME: okx,
    hyperliquid.NAME: hyperliquid,
    aster.NAME: aster,
    lighter.NAME: lighter,
    dydx.NAME: dydx,
    gate.NAME: gate,
    bitget.NAME: bitget,
    deribit.NAME: deribit,
    bitmex.NAME: bitmex,
}


def get(name: str) -> ModuleType:
    try:
        return EXCHANGES[name]
    except KeyError:
        raise KeyError(f"unknown exchange {name!r}; known: {', '.join(sorted(EXCHANGES))}") from None
