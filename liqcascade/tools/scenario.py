"""Labeled synthetic liquidation streams from a self-exciting (Hawkes) process, for backtests."""
from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

log = logging.getLogger(__name__)

NS = 1_000_000_000
SECONDS_PER_YEAR = 365.0 * 86400.0
PRICES = {"BTCUSDT": 60_000.0, "ETHUSDT": 3_000.0, "SOLUSDT": 150.0, "XRPUSDT": 0.6}
VENUE_WEIGHT = {"binance": 0.45, "bybit": 0.35, "okx": 0.20}
THROTTLED = frozenset({"binance", "okx"})  # at most the latest event per symbol per second
KINDS = ("calm", "volatile", "cascades", "whales", "dropout")
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


@dataclass
class Stream:
    """A scenario being built: price path, liquidations, statuses and labels; written sorted by time."""

    name: str
    rng: random.Random
    seconds: int
    vol: float = 0.35  # annualized BTC vol of the price path
    drifts: list[tuple[int, int, float]] = field(default_factory=list)  # (start s, end s, total log move)
    liqs: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    labels: list[dict[str, Any]] = field(default_factory=list)
    _path: list[float] = field(default_factory=list)

    def price(self, symbol: str, t: float) -> float:
        """Every symbol follows BTC with beta 1.2 (alts move more), from its own base price."""
        btc = self._path[min(int(t), len(self._path) - 1)]
        return PRICES.get(symbol, 10.0) * (btc / PRICES["BTCUSDT"]) ** 1.2

    def build_path(self) -> None:
        sd = self.vol / math.sqrt(SECONDS_PER_YEAR)
        drift = [0.0] * self.seconds
        for start, end, move in self.drifts:
            for s in range(max(0, start), min(self.seconds, end)):
                drift[s] += move / max(1, end - start)
        p, path = PRICES["BTCUSDT"], []
        for s in range(self.seconds):
            p *= math.exp(drift[s] + self.rng.gauss(0.0, sd))
            path.append(p)
        self._path = path

    def liq(self, t: float, symbol: str, venue: str, side: str, usd: float) -> None:
        price = self.price(symbol, t)
        native = symbol.replace("USDT", "-USDT-SWAP") if venue == "okx" else symbol
        self.liqs.append({"type": "liquidation", "exchange": venue, "symbol": symbol, "native_symbol": native,
                          "side": side, "price": round(price, 6), "qty": usd / price,
                          "notional_usd": round(usd, 2), "ts_event": int((T0 + t) * NS),
                          "throttled": venue in THROTTLED})

    def status(self, t: float, venue: str, connected: bool) -> None:
        ts = int((T0 + t) * NS)
        self.statuses.append({"type": "status", "exchange": venue, "connected": connected,
                              "throttled": venue in THROTTLED, "reconnects": 0, "frames": 0, "bad_frames": 0,
                              "events": 0, "last_frame_ns": ts if connected else 0, "ts": ts})

    def venue(self, venues: tuple[str, ...]) -> str:
        return self.rng.choices(venues, weights=[VENUE_WEIGHT[v] for v in venues])[0]

    def throttle(self) -> None:
        """Keep only the latest event per (venue, symbol, second) of throttled venues, like the feeds."""
        self.liqs.sort(key=lambda d: d["ts_event"])
        last: dict[tuple[str, str, int], int] = {}
        for i, d in enumerate(self.liqs):
            if d["throttled"]:
                last[(d["exchange"], d["symbol"], d["ts_event"] // NS)] = i
        keep = set(last.values())
        self.liqs = [d for i, d in enumerate(self.liqs) if not d["throttled"] or i in keep]

    def write(self, out: Path) -> tuple[Path, Path]:
        self.throttle()
        for lb in self.labels:  # what a perfect listener of these feeds could see
            lo, hi = lb["start_ns"], lb["end_ns"]
            lb["usd_visible"] = round(sum(d["notional_usd"] for d in self.liqs if d["symbol"] == lb["symbol"]
                                          and lo <= d["ts_event"] <= hi and d["side"] == lb["side"]), 2)
        prices = [{"type": "price", "exchange": "binance", "symbol": "BTCUSDT", "price": round(p, 2),
                   "qty": round(self.rng.lognormvariate(-2.0, 1.0), 4), "ts_event": (T0 + s) * NS}
                  for s, p in enumerate(self._path)]
        rows = sorted(self.liqs + prices + self.statuses,
                      key=lambda d: (d.get("ts_event", d.get("ts")), d["type"]))
        out.mkdir(parents=True, exist_ok=True)
        data, labels = out / f"{self.name}.jsonl", out / f"{self.name}.labels.json"
        data.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
        labels.write_bytes(orjson.dumps(self.labels, option=orjson.OPT_INDENT_2))
        log.info("scenario %s: %d lines, %d label(s)", self.name, len(rows), len(self.labels))
        return data, labels


def background(st: Stream, symbol: str, rate: float, median_usd: float, t0: float = 0.0,
               t1: float | None = None, sigma: float = 1.4) -> None:
    """Everyday liquidations: a mildly self-exciting flow (branching 0.5) on every venue, both sides."""
    alpha, beta = 0.5, 1.0
    venues = tuple(VENUE_WEIGHT)
    for t in hawkes(st.rng, rate * (1 - alpha / beta), alpha, beta, t0, st.seconds if t1 is None else t1):
        side = "long" if st.rng.random() < 0.5 else "short"
        st.liq(t, symbol, st.venue(venues), side, st.rng.lognormvariate(math.log(median_usd), sigma))


def cascade(st: Stream, symbol: str, start: float, duration: float, usd: float, side: str,
            venues: tuple[str, ...], kind: str = "cascade", drop: str | None = None) -> None:
    """A self-exciting burst (branching 0.8) with log-normal sizes rescaled to `usd` in total.

    With `drop`, that venue disconnects halfway: its later events are lost and statuses say so.
    """
    n_target = min(3000, max(150, int(usd / 40_000)))
    alpha, beta = 1.6, 2.0  # branching ratio 0.8, kernel 0.5 s
    times = []
    while len(times) < 20:  # a thinning draw that fizzled is not a cascade: draw again
        times = hawkes(st.rng, n_target * (1 - alpha / beta) / duration, alpha, beta, start, start + duration)
    sizes = [st.rng.lognormvariate(0.0, 1.0) for _ in times]
    scale = usd / sum(sizes)
    cut = start + duration / 2
    other = "short" if side == "long" else "long"
    for t, size in zip(times, sizes, strict=True):
        venue = st.venue(venues)
        if drop == venue and t >= cut:
            continue
        st.liq(t, symbol, venue, side if st.rng.random() < 0.95 else other, size * scale)
    if drop:
        st.status(cut, drop, connected=False)
    st.labels.append({"symbol": symbol, "start_ns": int((T0 + times[0]) * NS),
                      "end_ns": int((T0 + times[-1]) * NS), "side": side, "usd": round(usd, 2),
                      "venues": sorted(venues), "kind": kind, **({"dropped": drop} if drop else {})})


def _statuses(st: Stream, every_s: float = 5.0) -> None:
    """Regular FeedStatus for every venue (a disconnected venue stays down for 60 s)."""
    downs = [(d["ts"] / NS - T0, d["exchange"]) for d in st.statuses if not d["connected"]]
    for k in range(int(st.seconds / every_s)):
        t = k * every_s
        for v in VENUE_WEIGHT:
            down = any(v == dv and dt <= t < dt + 60 for dt, dv in downs)
            st.status(t, v, connected=not down)


def calm(rng: random.Random, hours: float = 24.0, name: str = "calm", vol: float = 0.35,
         rate: float = 0.05, median_usd: float = 4_000.0) -> Stream:
    """One symbol (BTCUSDT), ordinary price vol and ordinary liquidations, no label."""
    st = Stream(name, rng, int(hours * 3600), vol=vol)
    st.build_path()
    background(st, "BTCUSDT", rate, median_usd)
    return st


def volatile(rng: random.Random, hours: float = 24.0) -> Stream:
    """High price vol (~150 %/yr: regime HIGH) with calm liquidations: must not look like a cascade."""
    return calm(rng, hours, name="volatile", vol=1.5)


def cascades(rng: random.Random, count: int = 40, slot_s: int = 600, name: str = "cascades",
             dropout: bool = False) -> Stream:
    """`count` cascades of $20M-$200M over 20-60 s on 2-3 venues, one per slot, over background flow.

    Long cascades come with a falling BTC price, short ones with a rising one (0.5-3 %).
    """
    st = Stream(name, rng, count * slot_s)
    symbols = list(PRICES)
    plan = []
    for k in range(count):
        usd = math.exp(rng.uniform(math.log(20e6), math.log(200e6)))
        duration = rng.uniform(20.0, 60.0)
        side = rng.choice(("long", "short"))
        venues = tuple(VENUE_WEIGHT) if dropout else tuple(sorted(rng.sample(list(VENUE_WEIGHT), rng.choice((2, 3)))))
        start = k * slot_s + slot_s / 2 + rng.uniform(-30, 30)
        move = (0.005 + 0.025 * math.log(usd / 20e6) / math.log(10)) * (-1 if side == "long" else 1)
        st.drifts.append((int(start), int(start + duration), move))
        plan.append((symbols[k % len(symbols)], start, duration, usd, side, venues))
    st.build_path()
    for sym in symbols:
        background(st, sym, 0.05 if sym == "BTCUSDT" else 0.03, 4_000.0)
    for sym, start, duration, usd, side, venues in plan:
        drop = rng.choice(venues) if dropout else None
        cascade(st, sym, start, duration, usd, side, venues, kind="dropout" if dropout else "cascade", drop=drop)
    if dropout:
        _statuses(st)
    return st


def whales(rng: random.Random, count: int = 20, slot_s: int = 600) -> Stream:
    """Single liquidations of $2M-$10M on one venue, one per slot, in calm flow: must not ALERT."""
    st = Stream("whales", rng, count * slot_s)
    st.build_path()
    for sym in ("BTCUSDT", "ETHUSDT"):
        background(st, sym, 0.05, 4_000.0)
    for k in range(count):
        sym, venue = rng.choice(("BTCUSDT", "ETHUSDT")), rng.choice(tuple(VENUE_WEIGHT))
        t = k * slot_s + slot_s / 2
        usd = math.exp(rng.uniform(math.log(2e6), math.log(10e6)))
        side = rng.choice(("long", "short"))
        st.liq(t, sym, venue, side, usd)
        ts = int((T0 + t) * NS)
        st.labels.append({"symbol": sym, "start_ns": ts, "end_ns": ts, "side": side, "usd": round(usd, 2),
                          "venues": [venue], "kind": "whale"})
    return st


def build(kind: str, seed: int, hours: float = 24.0, count: int = 40) -> Stream:
    """One scenario of `kind`; the seed is mixed with the kind so each kind is reproducible alone."""
    rng = random.Random(f"{seed}:{kind}")
    if kind == "calm":
        return calm(rng, hours)
    if kind == "volatile":
        return volatile(rng, hours)
    if kind == "cascades":
        return cascades(rng, count)
    if kind == "whales":
        return whales(rng, max(1, count // 2))
    if kind == "dropout":
        return cascades(rng, max(1, count // 4), name="dropout", dropout=True)
    raise ValueError(f"unknown scenario kind {kind!r}; known: {', '.join(KINDS)}")


