"""OKX swap contract sizes (`ctVal`): bundled table, disk cache and a fail-soft HTTP refresh.

OKX sizes are in contracts: base qty = `sz x ctVal` for linear swaps (ctVal in the base coin), and
USD notional = `sz x ctVal` for inverse swaps (ctVal in USD). The parser never guesses a ctVal; an
instrument missing from the table is a bad frame.

Real instrument row (trimmed) from `GET /api/v5/public/instruments?instType=SWAP`:
    {"instId":"BTC-USDT-SWAP","instType":"SWAP","ctVal":"0.01","ctType":"linear","ctValCcy":"BTC",
     "settleCcy":"USDT","state":"live"}
"""
from __future__ import annotations

import json
import logging
import math
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

log = logging.getLogger(__name__)

INSTRUMENTS_URL = "https://www.okx.com/api/v5/public/instruments?instType=SWAP"
BUNDLED_PATH = Path(__file__).parent / "data" / "okx_ctval.json"
CT_TYPES = ("linear", "inverse")


@dataclass(frozen=True, slots=True)
class Instrument:
    """Contract spec of one OKX swap: `ct_val` units of `ct_val_ccy` per contract."""

    ct_val: float
    ct_type: str  # "linear" (ctVal in base coin) or "inverse" (ctVal in USD)
    ct_val_ccy: str


Table = dict[str, Instrument]


def _instrument(row: dict[str, Any]) -> Instrument:
    ct_val = float(row["ctVal"])
    ct_type = row["ctType"]
    if not (math.isfinite(ct_val) and ct_val > 0) or ct_type not in CT_TYPES:
        raise ValueError(f"bad ctVal/ctType {row.get('ctVal')!r}/{ct_type!r}")
    return Instrument(ct_val, ct_type, str(row.get("ctValCcy", "")))


def parse_instruments(doc: bytes | str | dict[str, Any]) -> Table:
    """OKX public instruments response -> table. Rows without a usable ctVal are skipped (logged).

    Raises ValueError if the response is an error or has no data at all.
    """
    if not isinstance(doc, dict):
        doc = orjson.loads(doc)
    if not isinstance(doc, dict) or str(doc.get("code", "0")) != "0" or not isinstance(doc.get("data"), list):
        code = doc.get("code") if isinstance(doc, dict) else None
        raise ValueError(f"not an instruments response: code={code!r}")
    table: Table = {}
    for row in doc["data"]:
        try:
            if row.get("instType", "SWAP") != "SWAP":
                continue
            table[str(row["instId"])] = _instrument(row)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            log.warning("okx: skipping instrument row %.200r: %s", row, exc)
    if not table:
        raise ValueError("instruments response has no usable SWAP rows")
    return table


def _from_file_doc(doc: dict[str, Any]) -> Table:
    return {inst_id: _instrument(row) for inst_id, row in doc["instruments"].items()}


def dump_table(table: Table) -> bytes:
    """The bundled/cache file format: {"instruments": {instId: {ctVal, ctType, ctValCcy}}}."""
    rows = {k: {"ctVal": repr(v.ct_val), "ctType": v.ct_type, "ctValCcy": v.ct_val_ccy}
            for k, v in sorted(table.items())}
    return orjson.dumps({"source": INSTRUMENTS_URL, "instruments": rows}, option=orjson.OPT_INDENT_2)


def bundled() -> Table:
    """The table shipped with the package (major swaps only)."""
    return _from_file_doc(json.loads(BUNDLED_PATH.read_text()))


def load_cached(cache_path: str | os.PathLike[str]) -> Table | None:
    """The cached table, or None if absent or unreadable."""
    path = Path(os.path.expanduser(cache_path))
    try:
        return _from_file_doc(orjson.loads(path.read_bytes()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("okx: ignoring unreadable ctVal cache %s: %s", path, exc)
        return None


def load(cache_path: str | os.PathLike[str] | None = None) -> Table:
    """Bundled table overlaid with the cache, without touching the network."""
    table = bundled()
    if cache_path:
        table.update(load_cached(cache_path) or {})
    return table


def save_cache(table: Table, cache_path: str | os.PathLike[str]) -> None:
    """Write atomically (temp file + rename) so a crash never leaves half a cache."""
    path = Path(os.path.expanduser(cache_path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(dump_table(table))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def refresh(url: str = INSTRUMENTS_URL, cache_path: str | os.PathLike[str] | None = None,
            timeout: float = 10.0) -> Table:
    """Fetch the live table, cache it, return it overlaid on the bundled one.

    Fails soft: any network, HTTP or format error is logged and the cached (else bundled) table is
    returned, so an offline start still parses the major swaps.
    """
    try:
        req = urllib.request.Request(url, headers={"User-Agent": "liqcascade"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            fetched = parse_instruments(resp.read())
    except (OSError, urllib.error.URLError, ValueError) as exc:
        log.warning("okx: instruments refresh from %s failed (%s); using %s table", url, exc,
                    "cached" if cache_path and load_cached(cache_path) else "bundled")
        return load(cache_path)
    if cache_path:
        try:
            save_cache(fetched, cache_path)
        except OSError as exc:
            log.warning("okx: cannot write ctVal cache %s: %s", cache_path, exc)
    log.info("okx: loaded ctVal for %d swaps from %s", len(fetched), url)
    table = bundled()
    table.update(fetched)
    return table
