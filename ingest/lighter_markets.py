"""Lighter perp market ids -> base symbols: bundled table and a fail-soft refresh from orderBookDetails.

Lighter's trade frames name a market only by its integer id (`"market_id": 1`, channel `trade:1`),
so the parser needs this table; an id missing from it is a bad item, never a guess. The refresh runs
once at startup from `ingest.venue_setup` (never for a simulator URL).

Real row (trimmed; nautilus_trader's Lighter mainnet capture of 2026-05-05):
    {"symbol":"ETH","market_id":0,"market_type":"perp","status":"active","size_decimals":4}
"""
from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import orjson

log = logging.getLogger(__name__)

DETAILS_URL = "https://mainnet.zklighter.elliot.ai/api/v1/orderBookDetails"
BUNDLED_PATH = Path(__file__).parent / "data" / "lighter_markets.json"

Table = dict[int, str]  # market_id -> Lighter base symbol ("BTC", "1000PEPE")


def bundled() -> Table:
    """The table shipped with the package (the majors)."""
    return {int(k): v for k, v in json.loads(BUNDLED_PATH.read_text())["markets"].items()}


def parse_details(doc: bytes | str | dict[str, Any]) -> Table:
    """orderBookDetails response -> table of its perps; ValueError when it holds none."""
    if not isinstance(doc, dict):
        doc = orjson.loads(doc)
    rows = doc.get("order_book_details") if isinstance(doc, dict) else None
    if not isinstance(rows, list):
        raise ValueError("not an orderBookDetails response")
    table: Table = {}
    for row in rows:
        if not isinstance(row, dict) or row.get("market_type", "perp") != "perp":
            continue
        market_id, symbol = row.get("market_id"), row.get("symbol")
        if type(market_id) is int and isinstance(symbol, str) and symbol:
            table[market_id] = symbol
    if not table:
        raise ValueError("orderBookDetails has no perp markets")
    return table


def refresh(url: str = DETAILS_URL, timeout: float = 5.0) -> Table:
    """The bundled table overlaid with the live one; on any network or format error, the bundled table."""
    table = bundled()
    try:
        req = urllib.request.Request(url, headers={"User-Agent": "liqcascade"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            fetched = parse_details(resp.read())
    except (OSError, urllib.error.URLError, ValueError) as exc:
        log.warning("lighter: market table refresh from %s failed (%s); using the bundled table", url, exc)
        return table
    log.info("lighter: loaded %d perp markets from %s", len(fetched), url)
    table.update(fetched)
    return table
