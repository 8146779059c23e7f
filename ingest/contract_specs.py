"""Per-contract sizes for venues that quote liquidations in contracts (Gate, BitMEX): bundled table + fetch.

A venue's parser holds a `Table` (native contract name -> `Spec`), filled at startup by
`ingest.venue_setup` from the venue's public contracts endpoint, or from the bundled file
(`ingest/data/<venue>_contracts.json`) when offline or simulated. The parser never guesses a size:
an instrument missing from the table is a bad item. (OKX has its own module with a disk cache,
`ingest.okx_instruments`; these two venues fall back to the bundled table instead.)
"""
from __future__ import annotations

import json
import logging
import math
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).parent / "data"
KINDS = ("linear", "inverse", "quanto")


@dataclass(frozen=True, slots=True)
class Spec:
    """One contract: `size` base coins per contract (linear) or USD per contract (inverse).

    Quanto contracts (BitMEX ETHUSD: value in XBT per USD of price) are listed so they can be
    skipped knowingly; their size is not used.
    """

    size: float
    kind: str = "linear"


Table = dict[str, Spec]


def spec(size: object, kind: str = "linear") -> Spec:
    x = float(size)  # type: ignore[arg-type]
    if not (math.isfinite(x) and x > 0) or kind not in KINDS:
        raise ValueError(f"bad contract size/kind {size!r}/{kind!r}")
    return Spec(x, kind)


def bundled(venue: str) -> Table:
    """The table shipped with the package for `venue` (the majors; what the simulator encodes with)."""
    doc = json.loads((DATA_DIR / f"{venue}_contracts.json").read_text())
    return {name: spec(row["size"], row.get("kind", "linear")) for name, row in doc["contracts"].items()}


def fetch(venue: str, url: str, rows: Callable[[Any], Iterable[tuple[str, Spec]]], timeout: float = 5.0) -> Table:
    """The venue's live table overlaid on the bundled one; fails soft to the bundled table.

    `rows` turns the decoded response into (name, Spec) pairs and raises ValueError on an error body.
    """
    table = bundled(venue)
    try:
        req = urllib.request.Request(url, headers={"User-Agent": "liqcascade"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            fetched = dict(rows(json.loads(resp.read())))
    except (OSError, urllib.error.URLError, ValueError, TypeError, KeyError) as exc:
        log.warning("%s: contract sizes from %s failed (%s); using the bundled table (%d contracts)",
                    venue, url, exc, len(table))
        return table
    if not fetched:
        log.warning("%s: %s listed no usable contracts; using the bundled table", venue, url)
        return table
    log.info("%s: loaded %d contract sizes from %s", venue, len(fetched), url)
    table.update(fetched)
    return table


def skip_bad_rows(items: Iterable[Any], one: Callable[[Any], tuple[str, Spec] | None],
                  venue: str) -> list[tuple[str, Spec]]:
    """Apply `one` to every row; a row it cannot read is logged and skipped, never fatal."""
    out = []
    for row in items:
        try:
            got = one(row)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            log.warning("%s: skipping contract row %.200r: %s", venue, row, exc)
            continue
        if got is not None:
            out.append(got)
    return out
