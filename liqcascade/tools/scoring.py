"""Per-class scoring of a replay against labeled intervals: recall and delay per positive class, false
ALERT+ per symbol-day and labeled negatives reaching ALERT per stream."""
from __future__ import annotations

import bisect
import statistics
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from common.schema import LEVEL_RANK, Signal

NS = 1_000_000_000
MARKET = "MARKET"
ALERT = LEVEL_RANK["ALERT"]
MATCH_BEFORE_S = 10.0  # an ALERT this long before a label's onset still belongs to it
MATCH_AFTER_S = 60.0  # ...and this long after its end (the flow's tail keeps the windows warm)
NEGATIVE_AFTER_S = 60.0  # a labeled negative (whale, spike...) "reached ALERT" within this after its end


def is_positive(lb: dict[str, Any]) -> bool:
    """Labels say so explicitly; older files only name cascade kinds."""
    return bool(lb.get("positive", lb.get("kind", "cascade") in ("cascade", "dropout")))


def class_of(lb: dict[str, Any]) -> str:
    return str(lb.get("class") or lb.get("kind") or "cascade")


class Timeline:
    """Level of every symbol over time, rebuilt from the level-change signals (heartbeats ignored)."""

    def __init__(self, signals: Iterable[Signal]) -> None:
        self.changes: dict[str, list[tuple[int, int, int]]] = defaultdict(list)  # ts, previous rank, rank
        for s in signals:
            if not s.heartbeat and s.symbol != MARKET:
                self.changes[s.symbol].append((s.ts, LEVEL_RANK[s.previous_level], LEVEL_RANK[s.level]))
        for rows in self.changes.values():
            rows.sort(key=lambda r: r[0])
        self._ts = {sym: [r[0] for r in rows] for sym, rows in self.changes.items()}

    def first_at_or_above(self, symbol: str, rank: int, lo: int, hi: int) -> int | None:
        """Earliest time in [lo, hi] at which `symbol` is at `rank` or above (lo if it already was)."""
        rows, ts = self.changes.get(symbol, []), self._ts.get(symbol, [])
        i = bisect.bisect_left(ts, lo)
        if i > 0 and rows[i - 1][2] >= rank:
            return lo
        for t, _, level in rows[i:]:
            if t > hi:
                return None
            if level >= rank:
                return t
        return None

    def entries(self, rank: int) -> list[tuple[str, int]]:
        """(symbol, ts) of every escalation crossing into `rank` or above."""
        return [(sym, t) for sym, rows in self.changes.items() for t, prev, level in rows if prev < rank <= level]


def delay_stats(delays: list[float]) -> dict[str, Any]:
    if not delays:
        return {"median": None, "p90": None, "max": None, "n": 0}
    ds = sorted(delays)
    return {"median": round(statistics.median(ds), 3), "p90": round(ds[int(0.9 * (len(ds) - 1))], 3),
            "max": round(ds[-1], 3), "n": len(ds)}


def score_stream(signals: list[Signal], labels: list[dict[str, Any]], span_s: float,
                 n_symbols: int) -> dict[str, Any]:
    """Raw counts of one replayed stream, to be pooled over streams by `pool`.

    Positive label: detected when its symbol is at ALERT+ at some time in [start - 10 s, end + 60 s];
    delay = that time - start (0 if already at ALERT+). False ALERT+: an ALERT+ entry matching no
    positive label of its symbol in that window. Negative label: "reached ALERT" when its symbol is at
    ALERT+ in [start, end + 60 s].
    """
    tl = Timeline(signals)
    pos = [lb for lb in labels if is_positive(lb)]
    classes: dict[str, dict[str, Any]] = defaultdict(lambda: {"labels": 0, "detected": 0, "delays": []})
    for lb in pos:
        row = classes[class_of(lb)]
        row["labels"] += 1
        t = tl.first_at_or_above(lb["symbol"], ALERT, int(lb["start_ns"] - MATCH_BEFORE_S * NS),
                                 int(lb["end_ns"] + MATCH_AFTER_S * NS))
        if t is not None:
            row["detected"] += 1
            row["delays"].append(max(0.0, (t - lb["start_ns"]) / NS))

    def matches(sym: str, t: int) -> bool:
        return any(lb["symbol"] == sym and lb["start_ns"] - MATCH_BEFORE_S * NS <= t
                   <= lb["end_ns"] + MATCH_AFTER_S * NS for lb in pos)

    false_alerts = sum(1 for sym, t in tl.entries(ALERT) if not matches(sym, t))
    negatives: dict[str, dict[str, int]] = defaultdict(lambda: {"labels": 0, "at_alert": 0})
    for lb in labels:
        if not is_positive(lb):
            row = negatives[class_of(lb)]
            row["labels"] += 1
            if tl.first_at_or_above(lb["symbol"], ALERT, lb["start_ns"],
                                    int(lb["end_ns"] + NEGATIVE_AFTER_S * NS)) is not None:
                row["at_alert"] += 1
    return {"classes": dict(classes), "negatives": dict(negatives), "false_alerts": false_alerts,
            "symbol_days": span_s / 86400.0 * max(1, n_symbols), "span_s": span_s, "n_symbols": n_symbols}


def finish_classes(classes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Recall and delay statistics from pooled class counts."""
    return {cls: {"labels": row["labels"], "detected": row["detected"],
                  "recall": round(row["detected"] / row["labels"], 4) if row["labels"] else None,
                  "delay_s": delay_stats(row["delays"])} for cls, row in sorted(classes.items())}


def pool(results: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Sum raw stream counts (several streams, one split)."""
    classes: dict[str, dict[str, Any]] = defaultdict(lambda: {"labels": 0, "detected": 0, "delays": []})
    negatives: dict[str, dict[str, int]] = defaultdict(lambda: {"labels": 0, "at_alert": 0})
    for res in results:
        for cls, row in res["classes"].items():
            c = classes[cls]
            c["labels"] += row["labels"]
            c["detected"] += row["detected"]
            c["delays"] += row["delays"]
        for cls, row in res["negatives"].items():
            negatives[cls]["labels"] += row["labels"]
            negatives[cls]["at_alert"] += row["at_alert"]
    return {"classes": dict(classes), "negatives": dict(negatives)}


def false_rate(res: dict[str, Any]) -> float | None:
    return round(res["false_alerts"] / res["symbol_days"], 4) if res["symbol_days"] else None


def finish(res: dict[str, Any]) -> dict[str, Any]:
    """The JSON-friendly score of one stream."""
    return {"classes": finish_classes(res["classes"]), "negatives": res["negatives"],
            "false_alerts": res["false_alerts"], "symbol_days": round(res["symbol_days"], 4),
            "false_alerts_per_symbol_day": false_rate(res)}
