"""The true liquidated USD behind what throttled venues show, calibrated live against the complete venues.

A throttled feed (Binance, OKX: at most one liquidation per symbol per second) shows a lower bound of what
its venue liquidated. For each throttled venue v and symbol, its visible fraction f_v = shown_v / true_v is
estimated against the complete venues c (each venue's COMPLETENESS: Bybit's allLiquidation tape, Deribit,
Lighter, dYdX...) over the same seconds, with
one assumption: liquidations spread over venues in proportion to their size, so true_v ≈ complete_c ·
size_v / size_c, sizes being the venues' open interest in USD (analytics/market_context.py) or, before a
venue reports any, `SHARE` (hand-set, the venues' usual share of the flow). Then

    A_v = Σ_k λ^(age_k) · shown_v[k],   B_v = Σ_k λ^(age_k) · complete_c[k] · size_v / size_c
    f_v = (A_v + P) / (B_v + P) clipped to [F_MIN, 1]

over completed 1 s buckets k (read `LAG_S` after they close, when late events are in) in which both feeds
were live, λ = 2^(-1/half_life_s) (`analytics.est_half_life_s`), and P = `PRIOR_USD` of pseudo-evidence
at f = 1: until the data says otherwise, a throttled feed is taken at face value. The estimate over the
last 10 s is

    est_usd = Σ_unthrottled shown + Σ_throttled shown_v / f_v

with its range from f_v's uncertainty: N_v = the effective number of seconds behind A_v and B_v (EW count
of seconds with flow on either), k_v = 1 + 2 / sqrt(N_v + 1) (3 with no evidence, 1.2 after 100 s of flow),
est_low uses min(1, f_v · k_v) and est_high f_v / k_v, so observed <= est_low <= est_usd <= est_high.
A venue that cannot be calibrated (no complete venue live for the symbol) keeps f = 1 and k = 3: the
range says how little is known. The observed USD is what the feeds showed; est_usd is this estimate.
A venue of unknown completeness is calibrated like a throttled one (its fraction stays 1 if it shows all);
a sampled one (Hyperliquid watched users' fills) is not scaled: its share of the venue is no stable ratio.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

NS = 1_000_000_000
SCALED = frozenset({"throttled", "unknown"})  # completeness levels whose visible fraction is calibrated
SHARE = {"binance": 0.35, "bybit": 0.35, "okx": 0.2, "hyperliquid": 0.1}  # hand-set fallback sizes
LAG_S = 3  # seconds after a bucket closes before it is read (Bybit batches 500 ms; venues deliver late)
PRIOR_USD = 100_000.0
F_MIN = 0.05
# `Estimate.plan`: (reference venues' grid rows, their summed size, (grid row, venue, expected share) of each
# scaled venue)
Plan = tuple[list[int], float, list[tuple[int, str, float]]]


@dataclass(slots=True)
class _Calib:
    shown: float = 0.0  # A_v
    expected: float = 0.0  # B_v
    seconds: float = 0.0  # N_v
    # (f_v, min(1, f_v·k_v), max(f_v / k_v, F_MIN)): what `estimate` divides by, computed when the sums change
    # (`fold`), not per snapshot
    divisors: tuple[float, float, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.fold(self.shown, self.expected, self.seconds)

    def fold(self, shown: float, expected: float, seconds: float) -> None:
        """Set the sums (A_v, B_v, N_v) and the divisors they give."""
        self.shown, self.expected, self.seconds = shown, expected, seconds
        # `fraction` and `spread` written out: every symbol's throttled venues fold once a second
        f = min(max((shown + PRIOR_USD) / (expected + PRIOR_USD), F_MIN), 1.0)
        spread = 1.0 + 2.0 / math.sqrt(seconds + 1.0)
        self.divisors = (f, min(1.0, f * spread), max(f / spread, F_MIN))

    def fraction(self) -> float:
        return min(max((self.shown + PRIOR_USD) / (self.expected + PRIOR_USD), F_MIN), 1.0)

    def spread(self) -> float:
        return 1.0 + 2.0 / math.sqrt(self.seconds + 1.0)


_PRIOR = _Calib()  # a venue not calibrated yet (read only: `estimate` never writes it)


@dataclass(slots=True)
class _Symbol:
    last_bucket: int = 0  # id of the newest 1 s bucket already folded in
    venues: dict[str, _Calib] = field(default_factory=dict)


class Estimate:
    """Per symbol and throttled venue, the calibrated visible fraction (`observe`), and `estimate`."""

    def __init__(self, half_life_s: float = 600.0) -> None:
        self.decay = 0.5 ** (1.0 / max(half_life_s, 1e-9))
        self.symbols: dict[str, _Symbol] = {}

    def due(self, symbol: str, now_ns: int) -> bool:
        """Whether `observe` at now_ns has a completed second to fold in (otherwise it changes nothing)."""
        st = self.symbols.get(symbol)
        return st is None or -(-now_ns // NS) - LAG_S > st.last_bucket

    @staticmethod
    def plan(venues: list[str], completeness: dict[str, str], live: dict[str, bool],
             sizes: dict[str, float]) -> Plan:
        """What `observe` reads of the feeds: the reference venues' grid rows, their summed size, and each
        scaled venue's (grid row, name, expected share of the reference flow). It depends on the feeds and
        sizes only, so a caller whose feeds did not change passes the same plan again."""
        refs = [i for i, v in enumerate(venues) if completeness.get(v) == "complete" and live.get(v)]
        if not refs:
            return refs, 0.0, []
        ref_size = sum(sizes.get(venues[i]) or SHARE.get(venues[i], 0.1) for i in refs)
        scaled = [(i, v, (sizes.get(v) or SHARE.get(v, 0.1)) / ref_size) for i, v in enumerate(venues)
                  if completeness.get(v) in SCALED and live.get(v)]
        return refs, ref_size, scaled

    def observe(self, symbol: str, venues: list[str], grid: np.ndarray, now_ns: int, completeness: dict[str, str],
                live: dict[str, bool], sizes: dict[str, float], plan: Plan | None = None) -> None:
        """Fold in the completed 1 s buckets of `grid` ((venues, n) USD, last column the bucket ending at
        now, as `SymbolState.measure` gives) not seen yet and at least LAG_S old; `plan`: `Estimate.plan` of
        the same venues, completeness, live and sizes, when the caller has it already."""
        st = self.symbols.get(symbol)
        if st is None:  # not setdefault(symbol, _Symbol()): that builds a _Symbol every call
            st = self.symbols[symbol] = _Symbol()
        n = grid.shape[1]
        newest = -(-now_ns // NS)  # id of the last column's bucket
        ready = newest - LAG_S
        first = max(st.last_bucket + 1, newest - n + 1, ready - n + 1)
        if ready < first:
            return
        refs, ref_size, scaled = plan or self.plan(venues, completeness, live, sizes)
        st.last_bucket = ready
        if not refs:
            return
        lo = first - (newest - n + 1)
        k = ready - first + 1
        if k == 1 and len(refs) <= 2:  # one new second (a snapshot a second): the same sums in plain floats
            self._fold_one(st, grid[:, lo].tolist(), refs, scaled)
            return
        cols = grid[:, lo:lo + k]  # buckets first..ready
        ref_usd = cols[refs].sum(axis=0)
        weights = self.decay ** np.arange(k - 1, -1, -1, dtype=float)  # newest bucket weighs 1
        total = self.decay ** k
        calibs = st.venues
        for i, v, ratio in scaled:
            c = calibs.get(v)
            if c is None:  # not setdefault(v, _Calib()): that builds (and folds) a _Calib every call
                c = calibs[v] = _Calib()
            shown = cols[i]
            c.fold(c.shown * total + float(weights @ shown), c.expected * total + float(weights @ ref_usd) * ratio,
                   c.seconds * total + float(weights @ ((shown > 0) | (ref_usd > 0))))

    def _fold_one(self, st: _Symbol, col: list[float], refs: list[int], scaled: list[tuple[int, str, float]]) -> None:
        """`observe`'s fold of a single second (weight 1, decay λ), in plain floats: with one bucket and at
        most two reference venues every sum has one order, so the floats are the array path's."""
        ref_usd = col[refs[0]] + col[refs[1]] if len(refs) == 2 else col[refs[0]]
        total = self.decay
        calibs = st.venues
        for i, v, ratio in scaled:
            c = calibs.get(v)
            if c is None:
                c = calibs[v] = _Calib()
            shown = col[i]
            c.fold(c.shown * total + shown, c.expected * total + ref_usd * ratio,
                   c.seconds * total + (1.0 if shown > 0 or ref_usd > 0 else 0.0))

    def estimate(self, symbol: str, venue_usd: dict[str, float],
                 completeness: dict[str, str]) -> tuple[float, float, float, dict[str, float]]:
        """(est_usd, est_low, est_high, visible fraction per throttled venue) for the given observed USD."""
        index = {v: i for i, v in enumerate(venue_usd)}
        return self.estimate_at(symbol, index, list(venue_usd.values()), completeness)

    def estimate_at(self, symbol: str, index: dict[str, int], usd_at: list[float],
                    completeness: dict[str, str]) -> tuple[float, float, float, dict[str, float]]:
        """`estimate` with venue v's observed USD at usd_at[index[v]] (a snapshot's venue sums, read in place
        instead of a dict of them per snapshot), the venues in `index` order."""
        st = self.symbols.get(symbol)
        calibs = st.venues if st is not None else {}
        est = low = high = 0.0
        fractions: dict[str, float] = {}
        for v, i in index.items():
            usd = usd_at[i]
            if completeness.get(v) not in SCALED:
                est += usd
                low += usd
                high += usd
                continue
            f, f_low, f_high = (calibs.get(v) or _PRIOR).divisors  # f, min(1, f·k), max(f / k, F_MIN)
            fractions[v] = f
            est += usd / f
            low += usd / f_low
            high += usd / f_high
        return est, low, high, fractions

    def forget(self, symbol: str) -> None:
        self.symbols.pop(symbol, None)


def est_phrase(observed: float, est: float, low: float, high: float, money) -> str:  # noqa: ANN001
    """'est. true $14M in 10 s ($11M-$19M) vs $9.1M observed' when throttled feeds hide some; '' otherwise."""
    if est <= observed * 1.05:  # nothing calibrated as hidden: the observed figure stands alone
        return ""
    return f"est. true {money(est)} in 10 s ({money(low)}–{money(high)}) vs {money(observed)} observed"
