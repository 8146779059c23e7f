"""Validate and normalize a built config once, at load: every error names the key, the value and what is allowed.

Types are checked while the config is built (common/config.py); this module checks values: names that
must be known (log levels, venues, levels, regimes, risk factors), things that must parse (window names,
URLs, endpoints, symbols) and numbers that must be finite, non-negative, positive or fractions. It
returns the config with the usual spellings normalized (log level case, symbols to `BTCUSDT`).
"""
from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

# The venues with an ingester (ingest/exchanges registers exactly these; a unit test keeps them equal).
# Kept here so config validation does not import the ingest stage.
VENUES = (
    "binance", "bybit", "okx", "hyperliquid",
    "aster", "lighter", "dydx",
    "gate", "bitget", "deribit", "bitmex",
)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
REDIS_SCHEMES = ("redis", "rediss", "unix")
ENDPOINT_SCHEMES = ("ipc", "tcp")
VENUE_URL_SCHEMES = ("ws", "wss")
WINDOW_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
QUOTES = ("USDT", "USDC", "BUSD", "USD")  # the quotes ingest maps to the canonical USDT symbol
CANONICAL_QUOTE = "USDT"

# Numbers are finite and >= 0 unless listed: POSITIVE must be > 0, FRACTION within 0..1.
POSITIVE = frozenset({
    "pipeline.shards", "pipeline.hwm", "pipeline.heartbeat_s",
    "redis.history_len", "redis.stream_maxlen", "redis.buffer", "redis.batch", "redis.backoff_max_s",
    "ingest.backoff_min_s", "ingest.backoff_max_s", "ingest.batch_max", "ingest.context_every_s",
    "ingest.binance_oi_every_s",
    "analytics.baseline_s", "analytics.idle_expire_s", "analytics.snapshot_every_s",
    "signals.heartbeat_s", "signals.market_min_symbols", "signals.price_stale_s", "signals.feed_stale_s",
    "signals.stale_after_s", "signals.price_move_window_s", "signals.price_move_full_bps",
    "signals.price_move_max",
    "analytics.usd_gate_seconds", "analytics.usd_gates", "analytics.saturated_ratio", "analytics.est_half_life_s",
})
FRACTION = frozenset({
    "analytics.completeness_weight", "analytics.oi_weight", "signals.exit_gap", "signals.regime_hysteresis",
    "signals.unknown_regime_confidence", "signals.degraded_venue_confidence", "signals.enter",
})
# dict keys fixed by the code: a key not in the default is a typo, not a new entry.
FIXED_KEYS = frozenset({
    "analytics.weights", "analytics.completeness_weight", "signals.enter", "signals.regime_multipliers"})
SYMBOL_KEYED = frozenset({"analytics.whale_usd", "analytics.floor_usd_per_s", "analytics.usd_gates"})

_WINDOW = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)$")
_BASE = re.compile(r"^(?=.*[A-Z])[A-Z0-9]{1,20}$")
_MULTIPLIER = re.compile(r"^(1000000|100000|10000|1000)(?=[A-Z])")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


class ConfigError(ValueError):
    """A config file, variable or option that does not fit the schema."""


def bad(key: str, value: Any, allowed: str) -> ConfigError:
    return ConfigError(f"{key} = {value!r}: {allowed}")


def normalize_symbol(text: str, key: str = "symbol") -> str:
    """`btcusdt`, `BTC-USDT`, `BTC/USDT`, `BTC_USDT`, `BTC-USDT-SWAP`, `BTC`, `1000PEPEUSDT`, `kPEPE` -> the canonical
    `BTCUSDT` / `PEPEUSDT` (base asset + USDT, per-coin: what ingest emits); anything else is an error."""
    s = text.strip()
    if s[:1] == "k" and s[1:2].isupper():  # Hyperliquid's kPEPE: 1000 PEPE, so the coin is PEPE
        s = s[1:]
    s = s.upper()
    if not s:
        raise bad(key, text, "an empty symbol; give a symbol like BTCUSDT (an empty list means all symbols)")
    parts = re.split(r"[-/_:]", s.removesuffix("-SWAP").removesuffix("-PERP"))
    base = parts[0]
    if len(parts) == 2 and parts[1] in QUOTES:
        base = parts[0]
    elif len(parts) != 1:
        raise bad(key, text, "not a symbol; expected e.g. BTCUSDT, BTC-USDT, BTC/USDT or BTC")
    else:
        for quote in QUOTES:
            if s.endswith(quote) and len(s) > len(quote):
                base = s[: -len(quote)]
                break
    base = _MULTIPLIER.sub("", base)
    if not _BASE.match(base) or base in QUOTES:
        raise bad(key, text, "not a symbol; expected e.g. BTCUSDT, BTC-USDT, BTC/USDT or BTC")
    return base + CANONICAL_QUOTE


def window_seconds(name: str) -> float:
    """'100ms' -> 0.1; the same names analytics parses (a positive number and a unit ms, s, m, h)."""
    m = _WINDOW.match(name)
    if not m or float(m.group(1)) <= 0:
        raise ValueError(name)
    return float(m.group(1)) * WINDOW_UNITS[m.group(2)]


def check_redis_url(key: str, url: str) -> None:
    allowed = ("a URL redis://[:password@]host[:port][/db], rediss://… (TLS) or unix:///path/to/socket")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise bad(key, mask_url(url), allowed) from None
    if parts.scheme not in REDIS_SCHEMES:
        raise bad(key, mask_url(url), allowed)
    if parts.scheme == "unix":
        if not parts.path:
            raise bad(key, mask_url(url), allowed)
        return
    db = parts.path.lstrip("/")
    if not parts.hostname or (db and not db.isdigit()) or (port is not None and not 0 < port < 65536):
        raise bad(key, mask_url(url), allowed)


def mask_url(url: str) -> str:
    """The URL with any password replaced by `***` (for logs, warnings and `liqcascade config`)."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user = parts.username or ""
        host = parts.netloc.rpartition("@")[2]
        return parts._replace(netloc=f"{user}:***@{host}").geturl()
    except ValueError:
        return re.sub(r"//[^@/]*@", "//***@", url)


def _check_endpoint(key: str, template: str) -> None:
    try:
        resolved = template.format(ipc_dir="/d", shard=0)
    except (KeyError, IndexError, ValueError):
        raise bad(key, template, "placeholders allowed: {ipc_dir}, {shard}") from None
    scheme, sep, rest = resolved.partition("://")
    if not sep or scheme not in ENDPOINT_SCHEMES or not rest:
        raise bad(key, template, "an endpoint ipc://PATH or tcp://HOST:PORT")


def _is_loopback(endpoint: str) -> bool:
    """tcp://HOST:PORT on 127.0.0.0/8, ::1, localhost or lo (ipc counts as local too)."""
    if not endpoint.startswith("tcp://"):
        return True
    host = endpoint[len("tcp://"):].rpartition(":")[0].strip("[]").split(";")[-1]
    if host in ("localhost", "lo"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # *, an interface name or a host name: reachable from elsewhere


def _check_cert(key: str, path: str, secret: bool) -> None:
    from zmq.auth.certs import load_certificate  # only configs that name key files pay for the import

    what = "a secret certificate (NAME.key_secret) written by `liqcascade keys generate`" if secret else \
        "a public certificate (NAME.key) written by `liqcascade keys generate`"
    try:
        _, secret_key = load_certificate(os.path.expanduser(path))
    except (OSError, ValueError) as exc:
        reason = "no such file" if not os.path.exists(os.path.expanduser(path)) else str(exc)
        raise bad(key, path, f"{what} ({reason})") from None
    if secret and not secret_key:
        raise bad(key, path, f"{what}; this file has no secret key")


def _check_security(cfg: Any) -> None:
    """Key files load; CURVE has a role to play; plain TCP off loopback only when asked for."""
    sec, p = cfg.security, cfg.pipeline
    endpoints = {f"pipeline.{n}_endpoint": cfg.endpoint(n) for n in ("analytics", "signals", "publisher", "pub")}
    if not sec.curve:
        for key, ep in endpoints.items():
            if not sec.allow_plain_tcp and not _is_loopback(ep):
                raise bad(key, getattr(p, key.split(".")[1]), "a tcp:// endpoint off loopback needs security.curve "
                          "= true (or security.allow_plain_tcp = true on a network you trust)")
        return
    server_side = bool(sec.server_key and sec.allowed_clients)
    client_side = bool(sec.server_public_key and sec.client_key)
    if not (server_side or client_side):
        raise bad("security.curve", True, "needs server_key and allowed_clients (binding hosts) and/or "
                  "server_public_key and client_key (connecting hosts)")
    for key, path, secret in (("security.server_key", sec.server_key, True),
                              ("security.client_key", sec.client_key, True),
                              ("security.server_public_key", sec.server_public_key, False)):
        if path:
            _check_cert(key, path, secret)
    for i, path in enumerate(sec.allowed_clients):
        if not os.path.isdir(os.path.expanduser(path)):
            _check_cert(f"security.allowed_clients[{i}]", path, False)


def _check_number(key: str, value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise bad(key, value, "a finite number, not negative")
    if key in POSITIVE and value <= 0:
        raise bad(key, value, "at least 1" if isinstance(value, int) else "a number greater than 0")
    if key in FRACTION and value > 1:
        raise bad(key, value, "a fraction between 0 and 1")


def _walk(obj: Any, prefix: str, visit: Callable[[str, Any], None]) -> None:
    """Every leaf value of a config dataclass with its dotted key (dict items under `key.item`)."""
    for f in dataclasses.fields(obj):
        key = f"{prefix}{f.name}"
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            _walk(value, key + ".", visit)
        else:
            visit(key, value)


def _numbers(key: str, value: Any) -> None:
    if isinstance(value, bool) or isinstance(value, str):
        return
    if isinstance(value, int | float):
        _check_number(key, value)
    elif isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, int | float) and not isinstance(v, bool):
                _check_number(key if key in FRACTION else f"{key}.{k}", v)
    elif isinstance(value, tuple):
        for i, v in enumerate(value):
            if isinstance(v, int | float) and not isinstance(v, bool):
                _check_number(f"{key}[{i}]", v)


def _names(key: str, values: Iterable[str], allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    for v in values:
        if v not in allowed:
            raise bad(key, v, "allowed: " + ", ".join(allowed))


def _symbols(key: str, items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(normalize_symbol(s, f"{key}[{i}]") for i, s in enumerate(items)))


def validate(cfg: Any, defaults: Any) -> Any:
    """Check `cfg` (a built Config) against what the code allows; return it normalized.

    `defaults` is Config() (for the fixed key sets). Raises ConfigError naming key, value and what is allowed.
    """
    _walk(cfg, "", _numbers)
    level = cfg.log_level.upper()
    if level not in LOG_LEVELS:
        raise bad("log_level", cfg.log_level, "allowed: " + ", ".join(LOG_LEVELS) + " (any case)")
    p, r, ing, an, sig = cfg.pipeline, cfg.redis, cfg.ingest, cfg.analytics, cfg.signals
    for name in ("analytics", "signals", "publisher", "pub"):
        _check_endpoint(f"pipeline.{name}_endpoint", getattr(p, f"{name}_endpoint"))
    if not p.ipc_dir:
        raise bad("pipeline.ipc_dir", p.ipc_dir, "a directory path")
    check_redis_url("redis.url", r.url)
    _check_security(cfg)
    if not ing.exchanges:
        raise bad("ingest.exchanges", list(ing.exchanges), "at least one of " + ", ".join(VENUES))
    _names("ingest.exchanges", ing.exchanges, VENUES)
    _names("ingest.urls", ing.urls, VENUES)
    for venue, url in ing.urls.items():
        if urlsplit(url).scheme not in VENUE_URL_SCHEMES or not urlsplit(url).netloc:
            raise bad(f"ingest.urls.{venue}", url, "a websocket URL ws://… or wss://…")
    if ing.backoff_max_s < ing.backoff_min_s:
        raise bad("ingest.backoff_max_s", ing.backoff_max_s, f"at least ingest.backoff_min_s ({ing.backoff_min_s})")
    for i, addr in enumerate(ing.hyperliquid_users):
        if not _ADDRESS.match(addr):
            raise bad(f"ingest.hyperliquid_users[{i}]", addr, "an address 0x followed by 40 hex digits")
    if not an.windows:
        raise bad("analytics.windows", [], "at least one window, e.g. ['10s']")
    for i, w in enumerate(an.windows):
        try:
            window_seconds(w)
        except ValueError:
            raise bad(f"analytics.windows[{i}]", w, "a window name: a positive number and a unit ms, s, m or h "
                      "(e.g. '100ms', '10s', '5m')") from None
    for key in sorted(FIXED_KEYS):
        section, name = key.split(".")
        _names(key, getattr(getattr(cfg, section), name), getattr(getattr(defaults, section), name))
    for key, gates in [("analytics.usd_gate_seconds", an.usd_gate_seconds),
                       *((f"analytics.usd_gates.{k}", v) for k, v in an.usd_gates.items())]:
        if len(gates) != 3 or list(gates) != sorted(gates):
            raise bad(key, list(gates), "three increasing numbers: the ALERT, CRITICAL and EXTREME gates")
    if not an.gate_min_n_eff >= 1.0:
        raise bad("analytics.gate_min_n_eff", an.gate_min_n_eff, "an effective count of 1 (off) or more")
    for key, source in (("analytics.calibration", an.calibration), ("signals.calibration", sig.calibration)):
        if source not in ("", "builtin") and not os.path.isfile(os.path.expanduser(source)):
            raise bad(key, source, '"builtin", "" (off) or the path of a file written by `liqcascade calibrate`')
    if list(sig.regime_vol_bounds) != sorted(sig.regime_vol_bounds):
        raise bad("signals.regime_vol_bounds", list(sig.regime_vol_bounds), "increasing numbers")
    enter = [sig.enter[lv] for lv in defaults.signals.enter if lv in sig.enter]
    if enter != sorted(enter):
        raise bad("signals.enter", sig.enter, "thresholds increasing from WATCH to EXTREME")
    ing = dataclasses.replace(ing, symbols=_symbols("ingest.symbols", ing.symbols),
                              price_symbol=normalize_symbol(ing.price_symbol, "ingest.price_symbol"))
    an = dataclasses.replace(an, **{key.split(".")[1]: {normalize_symbol(k, f"{key}.{k}"): v
                                                       for k, v in getattr(an, key.split(".")[1]).items()}
                                    for key in SYMBOL_KEYED})
    return dataclasses.replace(cfg, log_level=level, ingest=ing, analytics=an)
