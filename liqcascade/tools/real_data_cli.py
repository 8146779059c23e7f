"""`liqcascade real-data`: convert the recorded real files, backtest each, and say what the detector saw and why."""
from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import orjson

from common.config import get_config
from common.progress import steps
from common.schema import LEVEL_RANK, LEVELS, Signal
from liqcascade.tools.backtest import changes, run_file, summary
from liqcascade.tools.real_data import DATASETS, FILES, build, by_hour, hour_totals, write_jsonl
from signals.generator import MARKET

log = logging.getLogger(__name__)

NS = 1_000_000_000
HOUR_NS = 3600 * NS
REPO = Path(__file__).resolve().parents[2]
# The shared data next to the checkout first; in a fresh clone, the copies shipped under tests/data/real.
DATA_DIRS = (REPO.parent / "shared" / "data" / "real", REPO / "tests" / "data" / "real")
MAX_LISTED_CHANGES = 40  # longer change lists (the hourly proxy) are summarized, not printed


def _clock(ts_ns: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts_ns / 1e9)) + f".{ts_ns // 1_000_000 % 1000:03d}"


def max_levels(signals: list[Signal]) -> dict[str, str]:
    """Highest level each symbol (and MARKET) reached."""
    best: dict[str, int] = {}
    for s in signals:
        best[s.symbol] = max(best.get(s.symbol, 0), LEVEL_RANK[s.level])
    return {sym: LEVELS[r] for sym, r in sorted(best.items())}


def first_entries(signals: list[Signal]) -> dict[str, dict[str, int]]:
    """symbol -> level -> ns of the first escalation reaching that level or above."""
    out: dict[str, dict[str, int]] = {}
    for s in signals:
        if s.heartbeat:
            continue
        for lv in LEVELS[1:]:
            if LEVEL_RANK[s.previous_level] < LEVEL_RANK[lv] <= LEVEL_RANK[s.level]:
                out.setdefault(s.symbol, {}).setdefault(lv, s.ts)
    return out


def top_signal(signals: list[Signal]) -> Signal | None:
    """The strongest per-symbol signal (level, then probability): the one whose 'why' is reported."""
    cands = [s for s in signals if s.symbol != MARKET]
    return max(cands, key=lambda s: (LEVEL_RANK[s.level], s.probability), default=None)


def why(sig: Signal) -> dict[str, Any]:
    """The explanation and factor breakdown a signal carries."""
    c = sig.components
    return {"ts": sig.ts, "symbol": sig.symbol, "level": sig.level, "probability": sig.probability,
            "confidence": sig.confidence, "explanation": sig.explanation, "risk": c.get("risk"),
            "factors": c.get("factors", {}), "regime": c.get("regime"),
            "regime_multiplier": c.get("regime_multiplier"), "price_move_bps": c.get("price_move_bps"),
            "odds_multiplier": c.get("odds_multiplier"), "capped": c.get("capped"),
            "data_quality": sig.data_quality.get("quality")}


def hour_levels(signals: list[Signal], symbol: str = "BTCUSDT") -> dict[int, int]:
    """Hour start (ns) -> highest level rank `symbol` held at any time in that hour."""
    ch = sorted((s for s in signals if s.symbol == symbol and not s.heartbeat), key=lambda s: s.ts)
    out: dict[int, int] = {}
    for i, s in enumerate(ch):
        rank = LEVEL_RANK[s.level]
        end = ch[i + 1].ts if i + 1 < len(ch) else s.ts
        h = s.ts - s.ts % HOUR_NS
        while True:  # the level holds from this change until the next one, across hour boundaries
            out[h] = max(out.get(h, 0), rank)
            h += HOUR_NS
            if rank == 0 or h > end:
                break
    return out


def hourly_ranking(signals: list[Signal], hours: list[dict[str, Any]], min_hour_usd: float = 0.0) -> dict[str, Any]:
    """How the proxy's per-hour levels line up with the real hourly totals (all hours ranked, replayed or not)."""
    lv = hour_levels(signals)
    ranked = sorted(hours, key=lambda h: h["total"], reverse=True)
    rank_of = {h["ts"]: i + 1 for i, h in enumerate(ranked)}
    alert = LEVEL_RANK["ALERT"]
    alert_hours = sorted((h for h in hours if lv.get(h["ts"], 0) >= alert), key=lambda h: rank_of[h["ts"]])
    watch_hours = [h for h in hours if lv.get(h["ts"], 0) >= LEVEL_RANK["WATCH"]]
    k = len(alert_hours)
    return {
        "hours": len(hours), "replayed": sum(1 for h in hours if h["total"] >= min_hour_usd),
        "min_hour_usd": min_hour_usd, "watch_or_higher": len(watch_hours), "alert_or_higher": k,
        "top_hours": [{"utc": h["utc"], "total_usd": round(h["total"]), "long_share": round(h["long"] / h["total"], 3)
                       if h["total"] else None, "level": LEVELS[lv.get(h["ts"], 0)]} for h in ranked[:10]],
        "alert_hours": [{"utc": h["utc"], "total_usd": round(h["total"]), "usd_rank": rank_of[h["ts"]],
                         "level": LEVELS[lv[h["ts"]]]} for h in alert_hours],
        "alert_in_top_k": sum(1 for h in alert_hours if rank_of[h["ts"]] <= k),
        "smallest_alert_hour_usd": round(min(h["total"] for h in alert_hours)) if alert_hours else None,
        "largest_quiet_hour_usd": round(max((h["total"] for h in hours if lv.get(h["ts"], 0) < alert),
                                            default=0.0)),
    }


def report(name: str, rep: Any, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """One dataset's result: the backtest summary plus levels, timing and the why of the top signal."""

    ch = changes(rep.signals)
    top = top_signal(rep.signals)
    return {"dataset": name, "summary": summary(rep), "max_level": max_levels(rep.signals),
            "first_entries": first_entries(rep.signals),
            "changes": [{"ts": s.ts, "symbol": s.symbol, "from": s.previous_level, "to": s.level,
                         "probability": s.probability} for s in ch][:MAX_LISTED_CHANGES]
            if len(ch) <= MAX_LISTED_CHANGES else None,
            "top": why(top) if top is not None else None, **(extra or {})}


def render(r: dict[str, Any]) -> list[str]:
    """The terminal lines of one dataset's report."""
    s = r["summary"]
    lines = [f"== {r['dataset']}: {s['events']} liquidation events, {s['prices']} price ticks, "
             f"{s['span_s'] / 3600:.2f} h, symbols {', '.join(s['symbols'])}",
             f"level changes {s['level_changes']} ({s['market_changes']} {MARKET}); entries "
             + ", ".join(f"{lv} {n}" for lv, n in s["entries"].items()),
             "max level: " + (", ".join(f"{k} {v}" for k, v in r["max_level"].items()) or "NONE")]
    for sym, firsts in r["first_entries"].items():
        lines.append(f"first {sym}: " + ", ".join(f"{lv} {_clock(t)}" for lv, t in firsts.items()))
    for c in r["changes"] or []:
        lines.append(f"  {_clock(c['ts'])} {c['symbol']:<8} {c['from']:>8} -> {c['to']:<8} p={c['probability']:.2f}")
    t = r["top"]
    if t:
        lines.append(f"top signal {_clock(t['ts'])}: {t['explanation']}")
        lines.append(f"  risk {t['risk']:.3f}, regime {t['regime']} x{t['regime_multiplier']:g}, odds "
                     f"x{t['odds_multiplier']:g}, whale-guard cap: {t['capped']}, data {t['data_quality']}")
        for f, v in t["factors"].items():
            lines.append(f"  {f:<13} raw {v.get('raw', 0.0):>14.4g}  score {v.get('score', 0.0):.3f}  "
                         f"x w {v.get('weight', 0.0):.2f} = {v.get('contribution', 0.0):.3f}")
    h = r.get("hourly")
    if h:
        lines.append(f"hours: {h['hours']}, replayed {h['replayed']} (total >= ${h['min_hour_usd']:,.0f}); "
                     f"reaching WATCH+ {h['watch_or_higher']}, ALERT+ {h['alert_or_higher']} "
                     f"({h['alert_in_top_k']} of them among the {h['alert_or_higher']} largest hours); smallest "
                     f"ALERT hour ${h['smallest_alert_hour_usd'] or 0:,}, largest hour below ALERT "
                     f"${h['largest_quiet_hour_usd']:,}")
        lines.append("largest hours (real totals) -> proxy level:")
        lines += [f"  {x['utc']} ${x['total_usd']:>13,} long {x['long_share']:.0%} -> {x['level']}"
                  for x in h["top_hours"]]
    return lines


@dataclass
class Combined:
    """Several independent replays (the hourly proxy: one per hour) seen as one for `summary`."""

    signals: list[Signal] = field(default_factory=list)
    events: int = 0
    prices: int = 0
    symbols: set[str] = field(default_factory=set)
    first_ns: int | None = None
    last_ns: int = 0
    replayed_s: float = 0.0

    def add(self, rep: Any) -> None:
        self.signals += rep.signals
        self.events += rep.events
        self.prices += rep.prices
        self.symbols |= rep.symbols
        if rep.first_ns is not None:
            self.first_ns = rep.first_ns if self.first_ns is None else min(self.first_ns, rep.first_ns)
            self.last_ns = max(self.last_ns, rep.last_ns)
            self.replayed_s += (rep.last_ns - rep.first_ns) / NS


def find_data_dir(given: str | None) -> Path:
    """The directory of the real files: `given`, else the first of DATA_DIRS that exists (said on stderr)."""
    if given:
        if not Path(given).is_dir():
            raise click.ClickException(f"--data-dir {given}: no such directory")
        return Path(given)
    for d in DATA_DIRS:
        if d.is_dir():
            if d != DATA_DIRS[0]:
                click.echo(f"real-data: {DATA_DIRS[0]} is absent; using the excerpts under {d} (smaller than the full "
                           "files: the figures differ from the README's)", err=True)
            return d
    raise click.ClickException(f"no real data: neither {' nor '.join(map(str, DATA_DIRS))} exists; "
                               "give --data-dir DIR")


def run_hourly(cfg: Any, items: list[dict[str, Any]], out: Path,
               advance: Any = lambda *a, **k: None) -> Combined:
    """Replay each hour of the hourly proxy on its own (a fresh Engine per hour).

    Why not one file: replaying 6 months second by second costs about an hour of CPU. Why this is
    fair: the proxy's flow is uniform within the hour, so its 1 h baseline (at most $142M/3600 s =
    $40k/s) never exceeds the $50k/s BTC floor, and the reference a warm-up hour would set is the floor anyway.
    """

    out.mkdir(parents=True, exist_ok=True)
    comb = Combined()
    hours = sorted(by_hour(items).items())
    for i, (hour, evs) in enumerate(hours, 1):
        advance(0, description=f"hourly: hour {i} of {len(hours)}")
        path = out / (time.strftime("%Y-%m-%dT%H", time.gmtime(hour / NS)) + ".jsonl")
        write_jsonl(evs, path)
        comb.add(run_file(cfg, path))
    return comb


@click.command("real-data")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help=f"Directory of the real files (default: {DATA_DIRS[0]}, else tests/data/real).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Keep the converted JSON lines here (for `liqcascade backtest`); default: a temp dir.")
@click.option("--dataset", "names", multiple=True, type=click.Choice(["okx", "crash_2025_10_10", "hourly"]),
              help="Dataset(s) to run (repeatable); default: all whose files exist.")
@click.option("--seed", default=1, show_default=True, type=int, help="Seed of the invented parts of the proxies.")
@click.option("--min-hour-usd", default=20e6, show_default=True, type=float,
              help="Hourly proxy: replay only hours with at least this total (the rest count as not replayed).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object with every dataset's report.")
@click.pass_context
def real_data_command(ctx: click.Context, data_dir: str | None, out_dir: str | None, names: tuple[str, ...], seed: int,
                      min_hour_usd: float, as_json: bool) -> None:
    """Replay the real recorded files through the backtest and report levels, timing and the why."""

    cfg = get_config(ctx, process="real-data")
    data_dir = str(find_data_dir(data_dir))
    needs = {"okx": ("okx",), "crash_2025_10_10": ("klines", "adl"), "hourly": ("hourly",)}
    reports = []
    with tempfile.TemporaryDirectory() as tmp, steps("real-data", len(names or DATASETS)) as advance:
        out = Path(out_dir or tmp)
        out.mkdir(parents=True, exist_ok=True)
        for name in names or DATASETS:
            advance(0, description=name)
            missing = [FILES[k] for k in needs[name] if not (Path(data_dir) / FILES[k]).exists()]
            if missing:
                log.warning("real-data: %s skipped, missing %s", name, ", ".join(missing))
                continue
            items = build(name, data_dir, seed, min_hour_usd)
            if name == "hourly":
                rep: Any = run_hourly(cfg, items, out / name, advance)
                hours = hour_totals(Path(data_dir) / FILES["hourly"])
                extra = {"hourly": hourly_ranking(rep.signals, hours, min_hour_usd)}
            else:
                path = out / f"{name}.jsonl"
                write_jsonl(items, path)
                rep, extra = run_file(cfg, path), None  # exactly what `liqcascade backtest FILE` runs
            log.info("real-data: %s: %d lines under %s", name, len(items), out)
            r = report(name, rep, extra)
            if isinstance(rep, Combined):
                r["summary"]["span_s"] = round(rep.replayed_s, 3)  # replayed time, not the months between
            reports.append(r)
            advance()
    if not reports:
        raise click.ClickException(f"no real data files found in {data_dir}")
    if as_json:
        click.echo(orjson.dumps({"datasets": reports}).decode())
        return
    for r in reports:
        for line in render(r):
            click.echo(line)
