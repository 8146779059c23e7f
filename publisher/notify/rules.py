"""What each destination wants: its rules from the config, and the tests a signal or liquidation must pass."""
from __future__ import annotations

from dataclasses import replace

from common.config import ConfigError, NotifyConfig, NotifyDestination
from common.schema import LEVEL_RANK, LONG, SHORT, Liquidation, Signal

MARKET = "MARKET"  # signals.generator.MARKET: the market-wide signal's symbol


def destinations(cfg: NotifyConfig) -> list[NotifyDestination]:
    """Every configured destination, validated: plain `urls` get the default rules."""
    dests = [NotifyDestination(url=u) for u in cfg.urls] + list(cfg.destinations)
    for d in dests:
        validate(d)
    return [replace(d, url=d.url.strip()) for d in dests]


def validate(d: NotifyDestination) -> None:
    if not d.url.strip():
        raise ConfigError("notify.destinations: every destination needs a url")
    if d.min_level not in LEVEL_RANK or d.min_level == "NONE":
        raise ConfigError(f"notify: min_level must be one of WATCH, ALERT, CRITICAL, EXTREME, got {d.min_level!r}")
    if d.direction not in ("", LONG, SHORT):
        raise ConfigError(f"notify: direction must be '', 'long' or 'short', got {d.direction!r}")
    if d.min_usd < 0 or d.liquidation_min_usd_default < 0 or any(v < 0 for v in d.liquidation_min_usd.values()):
        raise ConfigError("notify: USD minimums must be >= 0")


def wants_symbol(d: NotifyDestination, symbol: str) -> bool:
    return not d.symbols or symbol in d.symbols


def signal_passes(d: NotifyDestination, sig: Signal, usd_60s: float) -> bool:
    """A signal that may open or escalate this destination's thread (resolution is the episode's business)."""
    return (LEVEL_RANK.get(sig.level, 0) >= LEVEL_RANK[d.min_level] and wants_symbol(d, sig.symbol)
            and (not d.direction or sig.direction == d.direction) and usd_60s >= d.min_usd)


def liquidation_min(d: NotifyDestination, symbol: str) -> float:
    """The notional from which one liquidation of `symbol` is a message here; 0 means off."""
    return d.liquidation_min_usd.get(symbol, d.liquidation_min_usd_default)


def liquidation_passes(d: NotifyDestination, liq: Liquidation) -> bool:
    floor = liquidation_min(d, liq.symbol)
    return (floor > 0 and liq.notional_usd >= floor and wants_symbol(d, liq.symbol)
            and (not d.direction or liq.side == d.direction))
