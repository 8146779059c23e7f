"""Hand-built MetricsSnapshots and price ticks for the signals tests."""
from __future__ import annotations

from typing import Any

from common.config import Config, load_config
from common.schema import MetricsSnapshot, PriceTick

NS = 1_000_000_000
FACTORS = ("velocity", "acceleration", "jerk", "concentration", "correlation", "one_sided")


def config(**signals: Any) -> Config:
    """Identity probability map unless a test asks for one: these tests check the generator's arithmetic."""
    signals.setdefault("calibration", "")
    return load_config(overrides={"signals": signals}, env={})


def snap(risk: float, t_s: float, symbol: str = "ETHUSDT", direction: str = "long", events_10s: float = 50,
         venues: dict[str, dict[str, Any]] | None = None, confidence: float = 0.9) -> MetricsSnapshot:
    ts = int(t_s * NS)
    factors = {f: {"raw": risk, "score": risk, "weight": 1 / 6, "contribution": risk / 6} for f in FACTORS}
    if venues is None:
        venues = {"bybit": {"throttled": False, "connected": True, "stale": False, "usd_per_s": 1e5, "events": 20},
                  "binance": {"throttled": True, "connected": True, "stale": False, "usd_per_s": 5e4,
                              "events": 8}}
    return MetricsSnapshot(
        symbol=symbol, ts=ts, velocity_usd_per_s={"10s": 1e5}, acceleration_usd_per_s2={},
        jerk_usd_per_s3={}, count_per_s={"10s": events_10s / 10}, by_venue={"bybit": 1e5},
        correlation=0.5, venues_active=2, risk=risk, confidence=confidence, direction=direction,
        factors=factors, explanation="flow rising.", ts_trigger_event=ts - 5_000_000,
        ts_trigger_recv=ts - 2_000_000, extra={"venues": venues})


def tick(price: float, t_s: float, symbol: str = "BTCUSDT", qty: float = 0.1) -> PriceTick:
    ts = int(t_s * NS)
    return PriceTick(exchange="binance", symbol=symbol, price=price, qty=qty, ts_event=ts, ts_recv=ts)
