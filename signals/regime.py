"""Market regime from BTC price ticks: realized volatility bands with hysteresis, liquidity, trend."""
from __future__ import annotations

import bisect
import logging
import math
from dataclasses import fields

from common.config import SignalsConfig
from common.schema import PriceTick, Regime

log = logging.getLogger(__name__)

REGIMES = ("DORMANT", "LOW", "NORMAL", "ELEVATED", "HIGH", "EXTREME")
UNKNOWN = "UNKNOWN"
WARMING_UP = "WARMING_UP"  # fresh prices, but no volatility window has enough history yet
NS = 1_000_000_000
SECONDS_PER_YEAR = 365.0 * 86400.0
VOL_WINDOWS = {"1m": 60, "5m": 300, "15m": 900}
# The 1 min window reacts to a sudden move, 15 min keeps one wick from setting the regime.
VOL_WEIGHTS = {"1m": 0.5, "5m": 0.3, "15m": 0.2}
# A window is "warming up" until its price history covers this share of it: 17 s of ticks are no
# 5 min volatility, and a window that is warming never moves the regime or its multiplier.
WARM_SHARE = 0.8
# (name, window s, history the window needs before it counts): the per-tick loop reads these, not the dicts
_WINDOWS = tuple((name, w, WARM_SHARE * w) for name, w in VOL_WINDOWS.items())
KEEP_BARS = 4 * VOL_WINDOWS["15m"]  # past this many bars, the ones older than the longest window are dropped
LIQUIDITY_TAU_S = 3600.0  # time constant of the trade-activity baseline
# A Regime is built per snapshot: the frozen dataclass __init__ (an object.__setattr__ per field) costs about
# twice writing its slots through their descriptors, as `common.schema.metrics_snapshot` does. Same object.
_REGIME_SETTERS = tuple(Regime.__dict__[f.name].__set__ for f in fields(Regime))


def _regime(*values: object) -> Regime:
    """Regime(*values) with every field given, in declaration order."""
    r = object.__new__(Regime)
    for put, value in zip(_REGIME_SETTERS, values):  # noqa: B905 - the callers give every field
        put(r, value)
    return r


def realized_vol(sum_r2: float, span_s: float) -> float:
    """Annualized realized vol: sqrt(sum of squared log returns / covered seconds * s/yr).

    Dividing by the seconds actually covered (not the window length) makes a window that is
    still filling, or has gaps between ticks, an unbiased estimate.
    """
    return math.sqrt(max(sum_r2, 0.0) / span_s * SECONDS_PER_YEAR)


def _first_after(secs: list[int], target: float, window_s: float) -> int:
    """bisect_right(secs, target) for target = secs[-1] - window_s, checked first where it falls when the bars
    are consecutive seconds (the usual case): two reads instead of a bisect's dozen, each a likely cache miss."""
    g = len(secs) - int(window_s)
    if 0 < g < len(secs) and secs[g - 1] <= target < secs[g]:
        return g
    return bisect.bisect_right(secs, target)


class RegimeDetector:
    """Clock-injected regime of the reference symbol; `update(tick)` then `current(now_ns)`.

    Ticks are folded into 1 s bars (last price, USD traded). On every closed bar the composite vol
    (weighted 1/5/15 min) moves the regime band with hysteresis: up past bound b needs vol >= b*(1+h),
    down below it needs vol < b*(1-h). Only windows whose history covers WARM_SHARE of them count;
    until one does the regime is WARMING_UP (multiplier 1.0). Without a tick younger than
    `price_stale_s` the regime is UNKNOWN with multiplier 1.0.
    """

    def __init__(self, cfg: SignalsConfig, symbol: str = "BTCUSDT") -> None:
        self.cfg = cfg
        self.symbol = symbol
        # Parallel arrays of 1 s bars with cumulative sums, so every window is two bisects away.
        self._secs: list[int] = []
        self._closes: list[float] = []
        self._cum_r2: list[float] = []  # sum of squared log returns up to and including this bar
        self._cum_usd: list[float] = []
        self._last_recv_ns = 0
        self._index: int | None = None
        self._vol: dict[str, float] = {}
        self._usd_baseline: float | None = None
        # Bumped by every tick taken in: what is read from the bars alone (trend, liquidity, a price move)
        # is kept with the version it was read at and reused until a tick changes the bars.
        self._version = 0
        self._moves: dict[float, tuple[int, float]] = {}  # window_s -> (version, price move)
        self._shape: tuple[int, str, float, str] = (-1, "flat", 0.0, "UNKNOWN")  # (version, trend, strength, liq.)
        self._multipliers = tuple(float(cfg.regime_multipliers.get(name, 1.0)) for name in REGIMES)  # per band

    # -- input ---------------------------------------------------------------------------------
    def update(self, tick: PriceTick) -> None:
        if tick.symbol != self.symbol or not tick.price > 0:
            return
        self._version += 1
        self._last_recv_ns = max(self._last_recv_ns, tick.ts_recv or tick.ts_event)
        sec = tick.ts_event // NS
        usd = abs(tick.qty) * tick.price
        secs = self._secs
        if secs and sec <= secs[-1]:
            if sec == secs[-1]:
                self._closes[-1] = tick.price
            self._cum_usd[-1] += usd  # a late tick still counts as activity, not as a price
            return
        if secs:
            self._close_bar(sec)
        r2 = math.log(tick.price / self._closes[-1]) ** 2 if secs else 0.0
        secs.append(sec)
        self._closes.append(tick.price)
        self._cum_r2.append((self._cum_r2[-1] if self._cum_r2 else 0.0) + r2)
        self._cum_usd.append((self._cum_usd[-1] if self._cum_usd else 0.0) + usd)
        if len(secs) > KEEP_BARS:
            cut = bisect.bisect_right(secs, sec - VOL_WINDOWS["15m"] - 1)
            for arr in (secs, self._closes, self._cum_r2, self._cum_usd):
                del arr[:cut]

    def _start(self, window_s: float) -> int:
        """Index of the first bar inside the last `window_s` seconds."""
        return _first_after(self._secs, self._secs[-1] - window_s, window_s)

    def _close_bar(self, next_sec: int) -> None:
        """Recompute vols and the hysteretic band once per closed second."""
        gap = max(1, next_sec - self._secs[-1])
        alpha = 1.0 - math.exp(-gap / LIQUIDITY_TAU_S)
        usd = self._cum_usd[-1] - (self._cum_usd[-2] if len(self._cum_usd) > 1 else 0.0)
        per_s = usd / gap
        self._usd_baseline = per_s if self._usd_baseline is None else (
            self._usd_baseline + alpha * (per_s - self._usd_baseline))
        self._vol = self._vols()
        vol = self._vol.get("composite")
        if vol is not None:
            self._index = self._band(vol)

    def _vols(self) -> dict[str, float]:
        out: dict[str, float] = {}
        secs, cum = self._secs, self._cum_r2
        last, n = secs[-1], len(secs)
        covered = last - secs[0]
        top = cum[-1]
        for name, window, warm in _WINDOWS:  # runs per tick: locals, `_first_after` and `realized_vol` inlined
            target = last - window
            i = n - window
            if not (0 < i < n and secs[i - 1] <= target < secs[i]):
                i = bisect.bisect_right(secs, target)
            if n - i >= 3 and covered >= warm:
                out[name] = math.sqrt(max(top - cum[i], 0.0) / (last - secs[i]) * SECONDS_PER_YEAR)
        if out:  # the weighted mean of the warm windows, summed in their order (as sum() would)
            num = den = 0
            for k, v in out.items():
                w = VOL_WEIGHTS[k]
                num += v * w
                den += w
            out["composite"] = num / den
        return out

    def _band(self, vol: float) -> int:
        bounds, h = self.cfg.regime_vol_bounds, self.cfg.regime_hysteresis
        if self._index is None:  # first estimate: plain band, nothing to be hysteretic about
            return sum(1 for b in bounds if vol >= b)
        i = self._index
        while i < len(bounds) and vol >= bounds[i] * (1 + h):
            i += 1
        while i > 0 and vol < bounds[i - 1] * (1 - h):
            i -= 1
        if i != self._index:
            log.info("regime: %s -> %s (vol %.0f%%/yr)", REGIMES[self._index], REGIMES[i], vol * 100)
        return i

    # -- output --------------------------------------------------------------------------------
    def fresh(self, now_ns: int) -> bool:
        return bool(self._secs) and now_ns - self._last_recv_ns <= self.cfg.price_stale_s * NS

    def price_state(self, now_ns: int) -> str:
        """'ok', 'stale' or 'missing': what signals say about the price feed."""
        if not self._secs:
            return "missing"
        return "ok" if self.fresh(now_ns) else "stale"

    def price_move(self, now_ns: int, window_s: float) -> float | None:
        """Log return of the reference price over the last `window_s` seconds; None if stale."""
        if not self.fresh(now_ns) or len(self._secs) < 2:
            return None
        hit = self._moves.get(window_s)  # read once per version: the bars change only in `update`
        if hit is not None and hit[0] == self._version:
            return hit[1]
        move = math.log(self._closes[-1] / self._closes[self._start(window_s)])
        self._moves[window_s] = (self._version, move)
        return move

    def current(self, now_ns: int) -> Regime:
        if not self.fresh(now_ns):
            return Regime(regime=UNKNOWN, multiplier=1.0, ts=now_ns, vol=dict(self._vol))
        if self._index is None:
            return Regime(regime=WARMING_UP, multiplier=1.0, ts=now_ns, vol=dict(self._vol))
        shape = self._shape
        if shape[0] != self._version:  # read once per version, as price_move
            trend, strength = self._trend()
            shape = self._shape = (self._version, trend, strength, self._liquidity())
        i = self._index
        return _regime(REGIMES[i], self._multipliers[i], now_ns, dict(self._vol), shape[3], shape[1], shape[2])

    def _trend(self) -> tuple[str, float]:
        """Direction of the 5 min move and its size in standard deviations of that window's noise."""
        i = self._start(VOL_WINDOWS["5m"])
        vol = self._vol.get("5m") or self._vol.get("composite")  # while 5 min warms up, the warm windows' noise
        span = self._secs[-1] - self._secs[i]
        if not vol or span <= 0:
            return "flat", 0.0
        ret = math.log(self._closes[-1] / self._closes[i])
        z = ret / (vol * math.sqrt(span / SECONDS_PER_YEAR))
        direction = "up" if z >= 1.0 else "down" if z <= -1.0 else "flat"
        return direction, round(min(abs(z), 10.0), 3)

    def _liquidity(self) -> str:
        """THIN / NORMAL / ACTIVE: last minute's traded USD/s against its own 1 h baseline."""
        if not self._usd_baseline:
            return "UNKNOWN"  # mark-price ticks carry no size
        i = self._start(60)
        recent = self._cum_usd[-1] - (self._cum_usd[i - 1] if i > 0 else 0.0)
        ratio = (recent / 60.0) / self._usd_baseline
        return "THIN" if ratio < 0.5 else "ACTIVE" if ratio > 2.0 else "NORMAL"
