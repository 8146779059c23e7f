"""A fixed, seeded engine workload whose snapshots are pinned in tests/data/analytics/ (regression).

Run `python -m tests.unit.analytics.regression_scenario` to regenerate the expected JSON; do that
only when a change of numbers is intended.
"""
from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from analytics.engine import Engine
from common.config import AnalyticsConfig
from common.schema import FeedStatus, Liquidation, as_dict

NS = 1_000_000_000
T0 = 1_700_000_000 * NS
EXPECTED = Path(__file__).resolve().parents[2] / "data" / "analytics" / "engine_snapshots.json"
VENUES = ("binance", "bybit", "okx", "hyperliquid")
# symbol -> venues it trades on: one, two and four venues, and a second config with odd windows
SYMBOLS = {"BTCUSDT": VENUES, "ETHUSDT": VENUES[:2], "SOLUSDT": VENUES[2:3], "DOGEUSDT": VENUES[1:]}
# The hand-set weights (calibration off): the pinned numbers test the engine's arithmetic, so refitting
# the shipped weights (`liqcascade calibrate`) does not mean re-pinning them.
# The per-window crowd rule off too (`gate_min_n_eff` 1): it zeroes a window's crowd USD by a threshold, which
# is behaviour with its own test (test_gates.py), not arithmetic.
CONFIGS = {
    "default": {"calibration": "", "gate_min_n_eff": 1.0},
    "odd_windows": {"windows": ("250ms", "1.5s", "7s", "45s", "5m"), "baseline_s": 900.0, "calibration": "",
                    "gate_min_n_eff": 1.0},
}


def _liq(rng: random.Random, symbol: str, ts: int, usd: float) -> Liquidation:
    venue = rng.choice(SYMBOLS[symbol])
    side = "long" if rng.random() < 0.55 else "short"
    price = 100.0 + (ts % 999_983) * 1e-7  # distinct liquidations, distinct prices (equal ones: fills of one)
    return Liquidation(venue, symbol, symbol, side, price, usd / price, usd, ts, ts + 1_000_000,
                       venue in ("binance", "okx"))


def _events(rng: random.Random) -> list[Liquidation | FeedStatus]:
    """~75 min of sparse flow with out-of-order and very old events, then a multi-venue cascade."""
    out: list[Liquidation | FeedStatus] = []
    ts = T0
    for _ in range(3000):
        ts += int(rng.expovariate(1 / 1.5) * NS) + rng.randrange(1_000_000)
        sym = rng.choice(list(SYMBOLS))
        t = ts - rng.randrange(3 * NS) if rng.random() < 0.1 else ts  # out of order
        if rng.random() < 0.005:
            t = ts - rng.randrange(400, 5000) * NS  # far in the past
        out.append(_liq(rng, sym, t, rng.expovariate(1 / 30_000.0)))
        if rng.random() < 0.01:
            out.append(FeedStatus(rng.choice(VENUES), rng.random() < 0.8, rng.random() < 0.3, 0, 0, 0, 0,
                                  ts - rng.randrange(200) * NS, ts))
    for i in range(600):  # a cascade: every venue, same seconds, growing
        ts += int(rng.expovariate(1 / 0.03) * NS)
        sym = "BTCUSDT" if i % 3 else "DOGEUSDT"
        out.append(_liq(rng, sym, ts, rng.expovariate(1 / (50_000.0 + 2_000.0 * i))))
    return out


def _plain(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


def build() -> list[dict[str, Any]]:
    """Every snapshot of the scenario, as plain JSON-ready dicts."""
    snaps: list[dict[str, Any]] = []
    for name, overrides in CONFIGS.items():
        rng = random.Random(20240607)
        eng = Engine(AnalyticsConfig(**overrides))  # type: ignore[arg-type]
        events = _events(rng)
        last = T0
        for i, ev in enumerate(events):
            if isinstance(ev, FeedStatus):
                eng.update_status(ev)
            else:
                eng.update(ev)
                last = max(last, ev.ts_event)
            if i % 587 == 0 or i > len(events) - 3:
                for dt in (0, 37_000_000, -450_000_000, 1_234_567_890, 700 * NS):
                    for sym in (*SYMBOLS, "XRPUSDT"):
                        snap = _plain(as_dict(eng.snapshot(sym, last + dt)))
                        snap["config"] = name
                        snaps.append(snap)
        snaps.append({"config": name, "active": eng.active_symbols(last + 30 * NS),
                      "expired": eng.expire(last + 2000 * NS), "rejected": eng.rejected})
    return snaps


if __name__ == "__main__":
    EXPECTED.parent.mkdir(parents=True, exist_ok=True)
    EXPECTED.write_text(json.dumps(build(), sort_keys=True) + "\n")
    print(f"wrote {EXPECTED}")
