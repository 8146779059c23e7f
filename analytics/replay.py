"""Normalized JSON lines (what `liqcascade parse` writes) -> Liquidation objects, for analyze and backtest."""
from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from common.schema import Liquidation, completeness_of

log = logging.getLogger(__name__)


def read_events(lines: Iterable[str | bytes]) -> Iterator[Liquidation | dict[str, Any]]:
    """Yield a Liquidation per `"type": "liquidation"` line and the plain dict of any other type.

    Blank lines are skipped; a malformed line is logged (truncated) and skipped, never turned into an
    event. `ts_recv` defaults to `ts_event`, `native_symbol` to `symbol`, `throttled` to False.
    """
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            d = orjson.loads(line)
            if not isinstance(d, dict):
                raise ValueError("not an object")
            if d.get("type") != "liquidation":
                yield d
                continue
            ts_event = int(d["ts_event"])
            comp = completeness_of(d.get("completeness", "complete"), bool(d.get("throttled")))
            yield Liquidation(
                exchange=str(d["exchange"]), symbol=str(d["symbol"]),
                native_symbol=str(d.get("native_symbol") or d["symbol"]), side=str(d["side"]),
                price=float(d.get("price", 0.0)), qty=float(d.get("qty", 0.0)),
                notional_usd=float(d["notional_usd"]), ts_event=ts_event,
                ts_recv=int(d.get("ts_recv") or ts_event), throttled=comp == "throttled", completeness=comp)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("replay: skipped line %d (%s): %.120r", n, exc, line)
