"""Where does a positive's onset -> ALERT delay come from? One row per labeled cascade of a stream.

For each positive label, the first time (seconds after onset) that: p reached the ALERT threshold,
the whale guard let ALERT through (events and n_eff), each scoring window's crowd USD met its ALERT
gate, the gate as a whole was met, all of these held in one snapshot (`ready`), and the symbol reached
ALERT. Between the latest single clock and `ready` is their not holding together; between `ready` and
ALERT the confirmation wait. A late gate is dollars arriving late.
A diagnostic for tuning (train streams only), not part of any target; `python -m liqcascade.tools.delay_trace
DATA LABELS` prints the table.
"""
from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import click
import orjson

from analytics.gates import WINDOW_SCALE
from common.config import Config, load_config
from common.schema import LEVELS, MetricsSnapshot
from liqcascade.tools.backtest import Replay, parse, read_lines
from liqcascade.tools.scoring import MATCH_AFTER_S, NS, is_positive

ALERT = LEVELS.index("ALERT")
CLOCKS = ("p", "guard", "gate_2s", "gate_10s", "gate_60s", "gate", "ready", "alert")


def trace(cfg: Config, data: Path, labels_path: Path) -> list[dict[str, Any]]:
    """Per positive label: class, symbol, USD, and the seconds after onset at which each clock first held."""
    labels = [lb for lb in orjson.loads(labels_path.read_bytes()) if is_positive(lb)]
    rows = [{"class": lb.get("class"), "symbol": lb["symbol"], "usd": lb["usd"], "venues": len(lb["venues"]),
             "start_ns": lb["start_ns"], "end_ns": lb["end_ns"], **dict.fromkeys(CLOCKS)} for lb in labels]
    by_sym: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_sym.setdefault(r["symbol"], []).append(r)
    enter = cfg.signals.enter["ALERT"]

    def mark(r: dict[str, Any], key: str, ts: int) -> None:
        if r[key] is None:
            r[key] = round((ts - r["start_ns"]) / NS, 2)

    def observe(sym: str, ts: int, snap: MetricsSnapshot, p: float, ctx: dict[str, Any]) -> None:
        for r in by_sym.get(sym, ()):
            if not r["start_ns"] <= ts <= r["end_ns"] + MATCH_AFTER_S * NS:
                continue
            gate = snap.extra.get("gate") or {}
            alert_gate = (gate.get("usd_10s") or {}).get("ALERT")
            if p >= enter:
                mark(r, "p", ts)
            guard = (snap.count_per_s.get("10s", 0.0) * 10.0 + 1e-9 >= cfg.signals.alert_min_events
                     and snap.extra.get("n_effective", 0.0) >= cfg.signals.alert_min_n_eff)
            if guard:
                mark(r, "guard", ts)
            if guard and p >= enter and gate.get("met"):
                mark(r, "ready", ts)  # everything ALERT needs, at once: what is left is the confirmation
            for w, usd in (gate.get("crowd_usd") or {}).items():
                if alert_gate and usd >= alert_gate * WINDOW_SCALE[w]:
                    mark(r, f"gate_{w}", ts)
            if gate.get("met"):
                mark(r, "gate", ts)
            if rep.gen.states[sym].level >= ALERT:
                mark(r, "alert", ts)

    rep = Replay(cfg, observer=observe)
    rep.run(parse(read_lines(data)))
    for r in rows:
        del r["start_ns"], r["end_ns"]
    return rows


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Median of each clock over the rows where it held, and how many held."""
    out: dict[str, Any] = {}
    for key in CLOCKS:
        vals = [r[key] for r in rows if r[key] is not None]
        out[key] = {"median": round(statistics.median(vals), 2) if vals else None, "n": len(vals)}
    return out


def table(rows: list[dict[str, Any]]) -> list[str]:
    """One line per cascade (seconds after onset, '-' where a clock never held), then the medians."""
    def cell(x: Any) -> str:
        return f"{'-' if x is None else x:>7}"

    lines = [f"{'class':<15} {'symbol':<9} {'$M':>6} {'ven':>3} " + " ".join(f"{c:>7}" for c in CLOCKS)]
    for r in rows:
        lines.append(f"{r['class']:<15} {r['symbol']:<9} {r['usd'] / 1e6:>6.1f} {r['venues']:>3} "
                     + " ".join(cell(r[c]) for c in CLOCKS))
    s = summary(rows)
    lines.append(f"{'median':<35} " + " ".join(cell(s[c]["median"]) for c in CLOCKS))
    return lines


@click.command()
@click.argument("data", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("labels", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def main(data: Path, labels: Path) -> None:
    """Where each labeled cascade of DATA (its LABELS file) loses time, e.g. with S=/tmp/suite/train:
    python -m liqcascade.tools.delay_trace $S/throttled_only.jsonl $S/throttled_only.labels.json"""
    try:
        rows = trace(load_config(), data, labels)
    except (OSError, ValueError, KeyError) as exc:
        raise click.ClickException(f"{labels}: {exc}") from exc
    for line in table(rows):
        click.echo(line)


if __name__ == "__main__":
    main()
