"""A scenario stream being built: BTC price path, liquidations, feed statuses and labels, and its writer."""
from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

log = logging.getLogger(__name__)

NS = 1_000_000_000
SECONDS_PER_YEAR = 365.0 * 86400.0
PRICES = {"BTCUSDT": 60_000.0, "ETHUSDT": 3_000.0, "SOLUSDT": 150.0, "XRPUSDT": 0.6, "DOGEUSDT": 0.15,
          "AVAXUSDT": 30.0}
MAJORS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT")
ALTS = ("SOLUSDT", "XRPUSDT", "DOGEUSDT", "AVAXUSDT")
VENUE_WEIGHT = {"binance": 0.40, "bybit": 0.30, "okx": 0.18, "hyperliquid": 0.12}
MAIN_VENUES = ("binance", "bybit", "okx")
THROTTLED = frozenset({"binance", "okx"})  # at most the latest event per symbol per second
HL_SAMPLE = 0.15  # share of Hyperliquid liquidations the watched (vault) addresses see
T0 = 1_700_000_000  # scenario epoch (s): fixed, so files are byte-identical for a seed


def hawkes(rng: random.Random, mu: float, alpha: float, beta: float, t0: float, t1: float) -> list[float]:
    """Event times of λ(t) = μ + Σ α·exp(−β(t−tᵢ)) on [t0, t1), by Ogata thinning.

    Between events λ only decays, so the intensity right after the last point is an upper bound:
    draw the next candidate from it and accept with probability λ(candidate)/bound.
    """
    t, excite, out = t0, 0.0, []
    while True:
        bound = mu + excite
        w = rng.expovariate(bound)
        t += w
        if t >= t1:
            return out
        excite *= math.exp(-beta * w)
        if rng.random() * bound <= mu + excite:
            out.append(t)
            excite += alpha


def native(symbol: str, venue: str) -> str:
    if venue == "okx":
        return symbol.replace("USDT", "-USDT-SWAP")
    if venue == "hyperliquid":
        return symbol.removesuffix("USDT")
    return symbol


@dataclass
class Stream:
    """A scenario being built; `write` applies what the feeds do (throttling, sampling, duplicates).

    `vol_at(second) -> multiplier` scales the base volatility over time (a rising baseline);
    `duplicate` delivers every liquidation twice ("mixed": identical line or re-received later).
    """

    name: str
    rng: random.Random
    seconds: int
    vol: float = 0.35  # annualized BTC vol of the price path
    vol_at: Callable[[int], float] | None = None
    drifts: list[tuple[int, int, float]] = field(default_factory=list)  # (start s, end s, total log move)
    liqs: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    labels: list[dict[str, Any]] = field(default_factory=list)
    duplicate: bool = False
    _path: list[float] = field(default_factory=list)

    def price(self, symbol: str, t: float) -> float:
        """Every symbol follows BTC with beta 1.2 (alts move more), from its own base price."""
        btc = self._path[min(max(int(t), 0), len(self._path) - 1)]
        return PRICES.get(symbol, 10.0) * (btc / PRICES["BTCUSDT"]) ** 1.2

    def btc(self, s: int) -> float:
        return self._path[min(max(s, 0), len(self._path) - 1)]

    def build_path(self) -> None:
        sd = self.vol / math.sqrt(SECONDS_PER_YEAR)
        drift = [0.0] * self.seconds
        for start, end, move in self.drifts:
            for s in range(max(0, start), min(self.seconds, end)):
                drift[s] += move / max(1, end - start)
        p, path = PRICES["BTCUSDT"], []
        gauss, vol_at = self.rng.gauss, self.vol_at
        for s in range(self.seconds):
            p *= math.exp(drift[s] + gauss(0.0, sd * (vol_at(s) if vol_at else 1.0)))
            path.append(p)
        self._path = path

    def liq(self, t: float, symbol: str, venue: str, side: str, usd: float, price: float | None = None) -> None:
        price = self.price(symbol, t) if price is None else price
        self.liqs.append({"type": "liquidation", "exchange": venue, "symbol": symbol,
                          "native_symbol": native(symbol, venue), "side": side, "price": round(price, 6),
                          "qty": usd / price, "notional_usd": round(usd, 2), "ts_event": int((T0 + t) * NS),
                          "throttled": venue in THROTTLED})

    def status(self, t: float, venue: str, connected: bool) -> None:
        ts = int((T0 + t) * NS)
        self.statuses.append({"type": "status", "exchange": venue, "connected": connected,
                              "throttled": venue in THROTTLED, "reconnects": 0, "frames": 0, "bad_frames": 0,
                              "events": 0, "last_frame_ns": ts if connected else 0, "ts": ts})

    def venue(self, venues: tuple[str, ...]) -> str:
        return self.rng.choices(venues, weights=[VENUE_WEIGHT[v] for v in venues])[0]

    def label(self, cls: str, positive: bool, symbol: str, t0: float, t1: float, side: str, usd: float,
              venues: list[str] | tuple[str, ...], **extra: Any) -> None:
        """One labeled interval; `class` names the scenario class, `positive` marks a real cascade."""
        self.labels.append({"symbol": symbol, "start_ns": int((T0 + t0) * NS), "end_ns": int((T0 + t1) * NS),
                            "side": side, "usd": round(usd, 2), "venues": sorted(set(venues)), "kind": cls,
                            "class": cls, "positive": positive, **extra})

    # -- what the feeds do to the truth -------------------------------------------------------
    def throttle(self) -> None:
        """Keep only the latest event per (venue, symbol, second) of throttled venues, like the feeds."""
        self.liqs.sort(key=lambda d: d["ts_event"])
        last: dict[tuple[str, str, int], int] = {}
        for i, d in enumerate(self.liqs):
            if d["throttled"]:
                last[(d["exchange"], d["symbol"], d["ts_event"] // NS)] = i
        keep = set(last.values())
        self.liqs = [d for i, d in enumerate(self.liqs) if not d["throttled"] or i in keep]

    def sample_hyperliquid(self) -> None:
        """Hyperliquid has no public liquidation feed: watched addresses see only a sample."""
        self.liqs = [d for d in self.liqs if d["exchange"] != "hyperliquid" or self.rng.random() < HL_SAMPLE]

    def duplicated(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Every delivered liquidation twice: the identical line, or the same event re-received 100-600 ms later."""
        out = []
        for d in rows:
            out.append(d)
            if self.rng.random() < 0.5:
                out.append(dict(d))
            else:
                out.append({**d, "ts_recv": d["ts_event"] + int(self.rng.uniform(0.1, 0.6) * NS)})
        return out

    def write(self, out: Path) -> tuple[Path, Path]:
        self.throttle()
        self.sample_hyperliquid()
        for lb in self.labels:  # what a perfect listener of these feeds could see
            lo, hi = lb["start_ns"], lb["end_ns"]
            lb["usd_visible"] = round(sum(d["notional_usd"] for d in self.liqs if d["symbol"] == lb["symbol"]
                                          and lo <= d["ts_event"] <= hi and d["side"] == lb["side"]), 2)
        prices = [{"type": "price", "exchange": "binance", "symbol": "BTCUSDT", "price": round(p, 2),
                   "qty": round(self.rng.lognormvariate(-2.0, 1.0), 4), "ts_event": (T0 + s) * NS}
                  for s, p in enumerate(self._path)]
        liqs = self.duplicated(self.liqs) if self.duplicate else self.liqs
        rows = sorted(liqs + prices + self.statuses,
                      key=lambda d: (d.get("ts_recv") or d.get("ts_event") or d["ts"], d["type"]))
        out.mkdir(parents=True, exist_ok=True)
        data, labels = out / f"{self.name}.jsonl", out / f"{self.name}.labels.json"
        data.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
        labels.write_bytes(orjson.dumps(self.labels, option=orjson.OPT_INDENT_2))
        log.info("scenario %s: %d lines, %d label(s)", self.name, len(rows), len(self.labels))
        return data, labels
