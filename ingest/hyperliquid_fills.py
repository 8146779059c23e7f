"""Hyperliquid node `--write-fills` lines (`node_fills_by_block`) -> liquidations, plus an ADL counter.

A node sees every fill of every user, so this is the complete venue-wide liquidation tape the public
websocket cannot give. Real line (2025-10-27, trimmed to the liquidation match):
    {"local_time":"2025-10-27T17:00:02.684975680","block_time":"2025-10-27T17:00:02.387173852",
     "block_number":777010856,"events":[["0xa59f..",{"coin":"WLFI","px":"0.15327","sz":"890.0",
     "side":"B","time":1761584402387,"dir":"Close Short","crossed":true,"tid":87867877881544,
     "liquidation":{"liquidatedUser":"0xa59f..","markPx":"0.15319","method":"market"}}],
     ["0x6224..",{"coin":"WLFI",...,"side":"A","dir":"Open Short","crossed":false,
     "tid":87867877881544,"liquidation":{...}}]]}
-> one short liquidation of 890 WLFI at 0.15327: both sides of the match carry the same tid and
`liquidation`, and the shared FillDeduper keeps one.

Parsing reuses `hyperliquid.parse_fills` (one fill->Liquidation implementation for both paths).
Lines of the non-batched `node_fills` layout (`[user, fill]`) are accepted as well.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from common.schema import Liquidation
from ingest.exchanges.base import BadFrame
from ingest.exchanges.hyperliquid import FillDeduper, HyperliquidAdl, parse_fills

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BlockFills:
    """What one file line holds: deduplicated liquidations, ADL fills, skipped-item messages."""

    block_number: int
    liquidations: list[Liquidation]
    adl: list[HyperliquidAdl]
    skipped: list[str]


def parse_line(line: str | bytes, ts_recv_ns: int, deduper: FillDeduper | None = None) -> BlockFills:
    """One JSONL line -> BlockFills. Pass the tailer's long-lived deduper to dedupe across lines.

    Raises BadFrame for a line that is not JSON or not one of the two layouts.
    """
    try:
        doc = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise BadFrame("not JSON") from None
    block = 0
    if isinstance(doc, dict):
        events = doc.get("events")
        block = doc.get("block_number", 0) if isinstance(doc.get("block_number"), int) else 0
    elif isinstance(doc, list) and len(doc) == 2 and isinstance(doc[0], str):
        events = [doc]
    else:
        raise BadFrame("neither a block line nor a [user, fill] pair")
    if not isinstance(events, list):
        raise BadFrame("events is not an array")
    result = parse_fills(_pairs(events), ts_recv_ns)
    dedupe = deduper if deduper is not None else FillDeduper()
    liquidations = [liq for key, liq in result.keyed if dedupe.first(key)]
    return BlockFills(block, liquidations, result.adl, result.skipped)


def _pairs(events: list[Any]) -> Iterable[tuple[str | None, Any]]:
    for ev in events:
        if isinstance(ev, list) and len(ev) == 2 and isinstance(ev[0], str):
            yield ev[0], ev[1]
        else:
            yield None, None  # counted as a skipped item by parse_fills


@dataclass
class AdlCounter:
    """Running ADL totals per canonical symbol and deleveraged-against side (count, USD notional).

    ADL is the terminal phase of a cascade: the book could not absorb the liquidations.
    """

    count: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    notional_usd: dict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))
    last_ts_event: int = 0

    def add(self, fills: Iterable[HyperliquidAdl]) -> int:
        n = 0
        for f in fills:
            self.count[(f.symbol, f.side)] += 1
            self.notional_usd[(f.symbol, f.side)] += f.notional_usd
            self.last_ts_event = max(self.last_ts_event, f.ts_event)
            n += 1
        return n

    @property
    def total(self) -> int:
        return sum(self.count.values())

    def snapshot(self) -> dict[str, dict[str, float]]:
        """{"BTCUSDT/long": {"count": n, "notional_usd": x}, ...} for logs and metrics."""
        return {f"{sym}/{side}": {"count": float(n), "notional_usd": self.notional_usd[(sym, side)]}
                for (sym, side), n in sorted(self.count.items())}
