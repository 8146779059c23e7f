"""How soon could any detector see a cascade's dollars? The bound behind the onset -> ALERT delay targets.

The scenario generator draws every liquidation (the truth), then applies what the feeds do: throttled
venues keep the latest event per symbol and second, Hyperliquid a sample. For each labeled cascade this
replays both views through the dollar gates alone (analytics/gates.py: the named side's crowd USD, whale-
sized liquidations left out, over the 2 s, 10 s and 60 s scoring windows, each at its WINDOW_SCALE) and
reports when the gate is first met; for each negative swing, whether its densest flow ever meets it.
Gates are the symbol's floor tier (`gates_for` at `floor_usd_per_s`), the ALERT gate times `scale`.

No probability, whale guard or confirmation is applied: what it prints is the earliest an ALERT could be
with perfect reading of what the feeds show ("shown"), and with every liquidation ("truth"). When the
shown crossing at a gate scale that keeps the negatives below it is already near a delay target, no
reading of the same feeds can meet that target; the truth column says what seeing the hidden flow is
worth. A diagnostic for tuning (train split), not a target.
"""
from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import click
import numpy as np

from analytics.gates import WINDOW_SCALE, gates_for
from analytics.windows import NS, parse_window
from common.config import AnalyticsConfig, load_config
from liqcascade.tools.scenario.suite import NEGATIVE_KINDS, POSITIVE_KINDS, SPLITS, build
from liqcascade.tools.scoring import class_of, is_positive

LOOKBACK_S = 60  # flow before a label's start still fills its windows
AFTER_S = 30  # a cascade's gate may be met a little after its last event is labeled
QUIET = ("calm", "volatile", "baseline", "whales", "split_whales", "whale_pairs", "duplicates")  # no swings


@dataclass(frozen=True)
class Views:
    """One stream's labels, every liquidation it drew, and what the feeds let through."""

    labels: list[dict[str, Any]]
    truth: list[dict[str, Any]]
    shown: list[dict[str, Any]]


def views(kind: str, seed: int, split: str, count: int | None = None, hours: float | None = None) -> Views:
    st = build(kind, seed, hours=hours, count=count, split=split)
    truth = list(st.liqs)
    st.throttle()
    st.sample_hyperliquid()
    return Views(st.labels, truth, st.liqs)


def margins(events: Iterable[dict[str, Any]], label: dict[str, Any], gate: float, whale: float
            ) -> tuple[np.ndarray, np.ndarray]:
    """(event times, the named side's best-window crowd USD / its gate after each event) around `label`."""
    lo, hi = label["start_ns"] - LOOKBACK_S * NS, label["end_ns"] + AFTER_S * NS
    rows = sorted((d["ts_event"], d["notional_usd"]) for d in events
                  if d["symbol"] == label["symbol"] and d["side"] == label["side"] and lo <= d["ts_event"] <= hi)
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    t = np.array([r[0] for r in rows], dtype=np.int64)
    usd = np.array([r[1] for r in rows])
    cum = np.cumsum(np.where(usd < whale, usd, 0.0))
    best = np.zeros(len(t))
    for window, scale in WINDOW_SCALE.items():
        first = np.searchsorted(t, t - parse_window(window), side="right")  # events inside (t - W, t]
        inside = cum - np.where(first > 0, cum[np.maximum(first - 1, 0)], 0.0)
        np.maximum(best, inside / (gate * scale), out=best)
    return t, best


def crossing_s(t: np.ndarray, margin: np.ndarray, start_ns: int) -> float | None:
    """Seconds from `start_ns` to the first event at or after it whose margin meets the gate (None: never)."""
    hit = np.nonzero((margin >= 1.0) & (t >= start_ns))[0]
    return (int(t[hit[0]]) - start_ns) / NS if len(hit) else None


@dataclass(frozen=True)
class Row:
    kind: str
    cls: str
    positive: bool
    truth: float | None  # positives: seconds to the gate; negatives: peak margin
    shown: float | None


def rows_for(kind: str, v: Views, cfg: AnalyticsConfig, scale: float) -> list[Row]:
    out = []
    for lb in v.labels:
        sym = lb["symbol"]
        floor = cfg.floor_usd_per_s.get(sym, cfg.floor_usd_per_s_default)
        gate = gates_for(cfg.usd_gates.get(sym), floor, cfg.usd_gate_seconds)[0] * scale
        whale = cfg.whale_usd.get(sym, cfg.whale_usd_default)
        pos = is_positive(lb)
        cells = []
        for events in (v.truth, v.shown):
            t, m = margins(events, lb, gate, whale)
            cells.append(crossing_s(t, m, lb["start_ns"]) if pos else (float(m.max()) if len(m) else 0.0))
        out.append(Row(kind, class_of(lb), pos, *cells))
    return out


def summarize(rows: Sequence[Row]) -> list[str]:
    """Per positive class: median seconds to the gate (truth, shown) and how many never met it; per
    negative class: swings whose flow met the gate (truth, shown) and the highest peak margin."""
    lines = [f"{'class':<15} {'n':>4} {'truth':>8} {'shown':>8} {'missed':>7}   "
             "(positives: median s to the gate, a miss counts as never)"]

    def med(xs: list[float | None]) -> str:
        """The median with a gate never met counted as never (as the delay targets count a miss)."""
        m = statistics.median([math.inf if x is None else x for x in xs]) if xs else math.inf
        return f"{m:8.2f}" if math.isfinite(m) else f"{'never':>8}"

    by: dict[tuple[bool, str], list[Row]] = {}
    for r in rows:
        by.setdefault((r.positive, r.cls), []).append(r)
    pos = [r for r in rows if r.positive]
    for (p, cls), rs in sorted(by.items(), key=lambda kv: (not kv[0][0], kv[0][1])):
        if p:
            lines.append(f"{cls:<15} {len(rs):>4} {med([r.truth for r in rs])} {med([r.shown for r in rs])} "
                         f"{sum(r.shown is None for r in rs):>7}")
    lines.append(f"{'all positives':<15} {len(pos):>4} {med([r.truth for r in pos])} {med([r.shown for r in pos])} "
                 f"{sum(r.shown is None for r in pos):>7}")
    lines.append(f"{'class':<15} {'n':>4} {'truth':>8} {'shown':>8} {'peak':>7}   (negatives: swings at the gate)")
    for (p, cls), rs in sorted(by.items()):
        if not p:
            lines.append(f"{cls:<15} {len(rs):>4} {sum((r.truth or 0) >= 1.0 for r in rs):>8} "
                         f"{sum((r.shown or 0) >= 1.0 for r in rs):>8} {max(r.truth or 0 for r in rs):>7.2f}")
    return lines


@click.command()
@click.option("--seed", default=1, show_default=True, help="The suite seed (as `scenario --suite --seed`).")
@click.option("--split", type=click.Choice(SPLITS), default="train", show_default=True)
@click.option("--scale", "scales", type=click.FloatRange(min=0.01), multiple=True, default=(1.0,),
              show_default=True, help="Gate multiples to evaluate (repeat the option).")
@click.option("--count", type=click.IntRange(min=1), default=None, help="Cascades per positive stream (class default).")
@click.option("--hours", type=click.FloatRange(min=0.1), default=None, help="Length of chop (default 24 h).")
def main(seed: int, split: str, scales: tuple[float, ...], count: int | None, hours: float | None) -> None:
    """Earliest gate crossing of every labeled cascade with every liquidation vs what the feeds show, and the
    negatives' swings against the same gates: python -m liqcascade.tools.visibility --scale 1 --scale 1.2"""
    try:
        cfg = load_config().analytics
    except (OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    kinds = [k for k in (*POSITIVE_KINDS, *NEGATIVE_KINDS) if k not in QUIET]
    streams = {k: views(k, seed, split, count, hours) for k in kinds}
    for scale in scales:
        click.echo(f"== ALERT gate x{scale:g} ({split}, seed {seed})")
        rows = [r for k, v in streams.items() for r in rows_for(k, v, cfg, scale)]
        for line in summarize(rows):
            click.echo(line)


if __name__ == "__main__":
    main()
