"""Hyperliquid node fills (`--write-fills`) as a venue: the complete tape, one JSON line per block.

Real line: see `ingest.hyperliquid_fills` (two fills of one WLFI match -> one short liquidation).
Keeps the long-lived dedupe set and the ADL totals across lines: both sides of a match appear as
separate fills, and ADL (the terminal phase of a cascade) is counted, never passed on as liquidation.
"""
from __future__ import annotations

import logging

from ingest.exchanges.base import Event
from ingest.exchanges.hyperliquid import FillDeduper
from ingest.hyperliquid_fills import AdlCounter, parse_line

log = logging.getLogger(__name__)

NAME = "hyperliquid"
COMPLETENESS = "complete"  # every liquidation

deduper = FillDeduper()
adl = AdlCounter()


def parse(line: str | bytes, ts_recv_ns: int) -> list[Event]:
    block = parse_line(line, ts_recv_ns, deduper)
    if block.adl:
        adl.add(block.adl)
        log.info("hyperliquid: %d auto-deleveraging fill(s) in block %d (total %d): %s", len(block.adl),
                 block.block_number, adl.total, adl.snapshot())
    return list(block.liquidations)
