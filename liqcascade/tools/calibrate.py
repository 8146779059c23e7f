"""`liqcascade calibrate`: fit the risk factor weights and the probability map on TRAINING streams.

Every snapshot evaluation of every training stream (the same replay as the backtest) becomes a
sample: the six factor scores, the regime and price-move log-odds the generator adds, and whether it
lies inside a real cascade (reliability.inside_positive). Two logistic fits, numpy only:

1. weights: y ~ σ(c0 + Σ c_i·score_i); the weights are the positive c_i, normalized (a factor whose
   coefficient comes out <= 0 gets weight 0: the data says it does not separate cascades from noise);
2. map: y ~ σ(a + b·logit(risk) + offset), risk from those weights, offset = ln(regime multiplier) +
   price-move term, so the published p is calibrated with the hand-set regime and price adjustments
   in place (the synthetic streams cannot decide those: their regimes are drawn, not observed).

The result goes to a small JSON file (default: the one shipped in common/); the stages only read it.
"""
from __future__ import annotations

import logging
import math
import random
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import click
import numpy as np
import orjson

from analytics.risk import FACTORS
from common.calibration import BUILTIN
from common.config import Config, get_config
from liqcascade.tools.backtest import Replay, parse, read_lines
from liqcascade.tools.reliability import inside_positive
from liqcascade.tools.suite_eval import streams

log = logging.getLogger(__name__)

NEG_KEEP = 0.1  # share of negative samples kept (weighted back up), so 24 h of calm does not dominate memory
EPS = 1e-6


def samples(cfg: Config, data: Path, labels_path: Path, seed: int = 0) -> dict[str, np.ndarray]:
    """Factor scores, offset and label of every snapshot evaluation of one stream (negatives thinned)."""
    rows: list[tuple[str, int, list[float], float]] = []
    move_ln = math.log(cfg.signals.price_move_max)

    def observe(sym: str, ts: int, snap: Any, p: float, ctx: dict[str, Any]) -> None:
        comp = ctx.get("components", {})
        if comp.get("side_turned"):
            return  # p was forced to 0 for an episode's other side: not the model's output
        scores = [float(snap.factors[f]["score"]) for f in FACTORS]
        offset = (math.log(max(comp.get("regime_multiplier", 1.0), EPS))
                  + comp.get("price_move_adjustment", 0.0) * move_ln)
        rows.append((sym, ts, scores, offset))

    rep = Replay(cfg, observer=observe)
    rep.run(parse(read_lines(data)))
    labels = orjson.loads(labels_path.read_bytes())
    by_sym: dict[str, list[int]] = {}
    for i, (sym, _, _, _) in enumerate(rows):
        by_sym.setdefault(sym, []).append(i)
    y = np.zeros(len(rows))
    ts = np.array([r[1] for r in rows], dtype=np.int64)
    for sym, idx in by_sym.items():
        ix = np.array(idx)
        y[ix] = inside_positive(ts[ix], sym, labels)
    rng = random.Random(f"{seed}:{data.name}")
    keep = [i for i in range(len(rows)) if y[i] or rng.random() < NEG_KEEP]
    return {"x": np.array([rows[i][2] for i in keep]).reshape(-1, len(FACTORS)),
            "offset": np.array([rows[i][3] for i in keep]), "y": y[keep],
            "w": np.array([1.0 if y[i] else 1.0 / NEG_KEEP for i in keep])}


def logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray, offset: np.ndarray | None = None,
             l2: float = 1e-4, iters: int = 50) -> np.ndarray:
    """Weighted logistic regression by Newton's method (IRLS); x includes the intercept column."""
    beta = np.zeros(x.shape[1])
    off = np.zeros(len(y)) if offset is None else offset
    reg = l2 * w.sum() * np.eye(x.shape[1])
    reg[0, 0] = 0.0  # no penalty on the intercept
    for _ in range(iters):
        eta = np.clip(x @ beta + off, -30, 30)
        mu = 1.0 / (1.0 + np.exp(-eta))
        grad = x.T @ (w * (y - mu)) - reg @ beta
        hess = (x * (w * mu * (1 - mu))[:, None]).T @ x + reg
        step = np.linalg.solve(hess, grad)
        beta += step
        if np.max(np.abs(step)) < 1e-8:
            break
    return beta


def fit(data: dict[str, np.ndarray]) -> dict[str, Any]:
    """The two fits of the module docstring, and what they rest on."""
    x, y, w, off = data["x"], data["y"], data["w"], data["offset"]
    coef = logistic(np.column_stack([np.ones(len(y)), x]), y, w)
    raw = dict(zip(FACTORS, coef[1:].tolist(), strict=True))
    pos = {f: max(c, 0.0) for f, c in raw.items()}
    total = sum(pos.values()) or 1.0
    weights = {f: round(c / total, 4) for f, c in pos.items()}
    risk = np.clip(x @ np.array([weights[f] for f in FACTORS]), EPS, 1 - EPS)
    lr = np.log(risk / (1 - risk))
    a, b = logistic(np.column_stack([np.ones(len(y)), lr]), y, w, offset=off).tolist()
    return {"weights": weights, "map": {"a": round(a, 4), "b": round(b, 4)},
            "fit": {"samples": int(len(y)), "positives": int(y.sum()), "negatives_kept": NEG_KEEP,
                    "logistic_coefficients": {"intercept": round(float(coef[0]), 4),
                                              **{f: round(c, 4) for f, c in raw.items()}}}}


@click.command("calibrate")
@click.option("--suite", "suite", required=True, type=click.Path(exists=True, file_okay=False),
              help="A suite written by `liqcascade scenario --suite DIR`.")
@click.option("--split", default="train", show_default=True, help="The split to fit on (never the held-out one).")
@click.option("--out", type=click.Path(dir_okay=False), default=str(BUILTIN), show_default=True,
              help="Where to write the coefficients.")
@click.option("--jobs", default=1, show_default=True, help="Streams replayed in parallel.")
@click.pass_context
def calibrate_command(ctx: click.Context, suite: str, split: str, out: str, jobs: int) -> None:
    """Fit factor weights and the probability map on training streams; write the coefficients file."""
    # Fit what the hand-set weights and the identity map produce, so the fit does not chase itself.
    cfg = get_config(ctx, {"analytics": {"calibration": ""}, "signals": {"calibration": ""}}, process="calibrate")
    todo = streams(Path(suite), split)
    parts = []
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(samples, cfg, data, labels) for data, labels, _, _ in todo]
        for (_, _, kind, _), fut in zip(todo, futures, strict=True):
            parts.append(fut.result())
            click.echo(f"{kind}: {len(parts[-1]['y'])} samples, {int(parts[-1]['y'].sum())} inside a cascade",
                       err=True)
    merged = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    result = fit(merged)
    result["fit"].update(suite=str(Path(suite).name), split=split)
    Path(out).write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
    click.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    click.echo(f"wrote {out}", err=True)
