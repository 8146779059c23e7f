"""The scenario registry: every stream kind, its class labels, and the train / held-out suite."""
from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from liqcascade.tools.scenario import negatives, positives
from liqcascade.tools.scenario.stream import Stream

SPLITS = ("train", "heldout")
# stream kind -> (builder, positive?, takes hours instead of a count)
KINDS_SPEC: dict[str, tuple[Callable[..., Stream], bool, bool]] = {
    "calm": (negatives.calm, False, True),
    "volatile": (negatives.volatile, False, True),
    "chop": (negatives.chop, False, True),
    "spikes": (negatives.spikes, False, False),
    "whales": (negatives.whales, False, False),
    "split_whales": (negatives.split_whales, False, False),
    "whale_pairs": (negatives.whale_pairs, False, False),
    "duplicates": (negatives.duplicates, False, False),
    "baseline": (negatives.baseline, False, True),
    "cascades": (positives.cascades, True, False),
    "flash": (positives.flash, True, False),
    "squeeze": (positives.squeeze, True, False),
    "throttled_only": (positives.throttled_only, True, False),
    "single_venue": (positives.single_venue, True, False),
    "alt": (positives.alt, True, False),
    "second_wave": (positives.second_wave, True, False),
    "grind": (positives.grind, True, False),
    "in_volatile": (positives.in_volatile, True, False),
    "dropout": (positives.dropout, True, False),
}
KINDS = tuple(KINDS_SPEC)  # the suite: every kind with a target
NEGATIVE_KINDS = tuple(k for k, (_, pos, _) in KINDS_SPEC.items() if not pos)
POSITIVE_KINDS = tuple(k for k, (_, pos, _) in KINDS_SPEC.items() if pos)
# Stress streams: written on request (`scenario --kind`), never part of the suite or its pass/fail
STRESS_SPEC: dict[str, tuple[Callable[..., Stream], bool, bool]] = {
    "dense_chop": (negatives.dense_chop, False, True),
}
ALL_KINDS = KINDS + tuple(STRESS_SPEC)


def rng_for(kind: str, seed: int, split: str = "train") -> random.Random:
    """Train keeps the historical `seed:kind` stream; held-out draws from a disjoint `heldout:seed:kind`."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
    return random.Random(f"{seed}:{kind}" if split == "train" else f"{split}:{seed}:{kind}")


def spec_of(kind: str) -> tuple[Callable[..., Stream], bool, bool]:
    """(builder, positive?, takes hours) of a suite or stress kind."""
    spec = KINDS_SPEC.get(kind) or STRESS_SPEC.get(kind)
    if spec is None:
        raise ValueError(f"unknown scenario kind {kind!r}; known: {', '.join(ALL_KINDS)}")
    return spec


def build(kind: str, seed: int, hours: float | None = None, count: int | None = None,
          split: str = "train", cluster_s: tuple[float, float] | None = None) -> Stream:
    """One stream of `kind`; parameters are drawn from each class's ranges by a per-(split, seed, kind) RNG.

    `hours` sets the length of the hour-based streams (calm, volatile, chop, baseline), `count` the
    number of injected events of the others, `cluster_s` the seconds `dense_chop` packs its clusters into;
    None keeps each kind's default.
    """
    fn, _, by_hours = spec_of(kind)
    kwargs: dict[str, Any] = {}
    if by_hours and hours is not None:
        kwargs["hours"] = hours
    if not by_hours and count is not None:
        kwargs["count"] = max(1, count)
    if cluster_s is not None:
        kwargs["cluster_s"] = cluster_s
    return fn(rng_for(kind, seed, split), **kwargs)


def write_suite(out: Path, seed: int = 1, hours: float | None = None, count: int | None = None,
                kinds: tuple[str, ...] = KINDS, splits: tuple[str, ...] = SPLITS,
                progress: Callable[[str], None] | None = None) -> list[tuple[Path, Path]]:
    """Every kind for every split under out/<split>/, plus out/suite.json describing what was written."""
    written, manifest = [], {"seed": seed, "hours": hours, "count": count, "splits": {}}
    for split in splits:
        manifest["splits"][split] = []
        for kind in kinds:
            data, labels = build(kind, seed, hours, count, split).write(out / split)
            written.append((data, labels))
            manifest["splits"][split].append({"kind": kind, "positive": spec_of(kind)[1],
                                              "data": data.name, "labels": labels.name})
            if progress:
                progress(f"{split}/{kind}")
    (out / "suite.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    return written
