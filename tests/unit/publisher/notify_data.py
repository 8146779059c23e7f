"""The demo's real signals and liquidations (recorded from one round through the whole pipeline)."""
from __future__ import annotations

from pathlib import Path

import orjson

from common.schema import Liquidation, Signal
from publisher.notify.episodes import Window

DATA = Path(__file__).resolve().parents[2] / "data" / "notify"


def demo_signals() -> list[tuple[Signal, Window]]:
    """Level changes of the demo round: BTCUSDT WATCH -> EXTREME -> CRITICAL -> NONE, ETHUSDT alongside."""
    out = []
    for line in (DATA / "demo_signals.jsonl").read_bytes().splitlines():
        row = orjson.loads(line)
        w = row["window"] or {}
        out.append((Signal(**row["signal"]), Window(w.get("usd_10s", 0.0), w.get("usd_60s", 0.0),
                                                    tuple(w.get("venues", ())))))
    return out


def demo_liquidations() -> list[Liquidation]:
    """The demo's five largest liquidations, largest first."""
    return [Liquidation(**orjson.loads(line)) for line in (DATA / "demo_liquidations.jsonl").read_bytes().splitlines()]
