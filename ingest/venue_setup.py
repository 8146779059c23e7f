"""Per-venue startup I/O, kept out of the pure parser modules: reference data and watched users."""
from __future__ import annotations

import logging
from types import ModuleType
from urllib.parse import urlparse

from common.config import Config
from ingest import contract_specs, lighter_markets, okx_instruments
from ingest.exchanges import bitmex, gate, hyperliquid, lighter, okx

log = logging.getLogger(__name__)


def is_venue_host(url: str, venue_url: str) -> bool:
    """True when `url` points at the venue itself (same registered domain as its default URL).

    A simulator or demo URL (ws://127.0.0.1:9100/...) is not: startup must then make no call to the internet.
    """
    host, real = urlparse(url).hostname or "", urlparse(venue_url).hostname or ""
    domain = ".".join(real.split(".")[-2:])
    return bool(domain) and (host == domain or host.endswith("." + domain))


def prepare(venue: ModuleType, cfg: Config) -> None:
    """Load what a venue's parser needs before the first frame (once per process start)."""
    if venue.NAME == "okx":
        okx.set_instruments(_okx_table(cfg))
        warn_unlisted_okx(cfg.ingest.symbols, okx.listed())
    elif venue.NAME == "lighter":
        lighter.set_markets(_lighter_table(cfg))
        missing = [s for s in cfg.ingest.symbols if s not in lighter.market_ids()]
        for s in missing:
            log.warning("lighter: tracked symbol %s is not in the market table; its lighter liquidations "
                        "will not be subscribed", s)
    elif venue in (gate, bitmex):
        venue.set_contracts(_contracts(venue, cfg))
    elif venue.NAME == "hyperliquid" and hasattr(venue, "set_users"):  # not the node-fills tailer

        hyperliquid.set_users(cfg.ingest.hyperliquid_users)
        log.info("hyperliquid: watching the fills of %d address(es): a sample, not the venue-wide tape",
                 len(cfg.ingest.hyperliquid_users))


def _okx_table(cfg: Config) -> okx_instruments.Table:
    """ctVal from OKX's public instruments endpoint, cached on disk; bundled table when offline or simulated."""
    url = cfg.ingest.urls.get("okx", okx.URL)
    if not is_venue_host(url, okx.URL):
        log.info("okx: %s is not OKX (simulator or demo): bundled ctVal table, no instruments fetch", url)
        return okx_instruments.load(cfg.ingest.okx_ctval_cache)
    return okx_instruments.refresh(cache_path=cfg.ingest.okx_ctval_cache, timeout=5.0)


def _lighter_table(cfg: Config) -> lighter_markets.Table:
    """Market ids from Lighter's orderBookDetails; the bundled table when offline or simulated."""
    url = cfg.ingest.urls.get("lighter", lighter.URL)
    if not is_venue_host(url, lighter.URL):
        log.info("lighter: %s is not Lighter (simulator or demo): bundled market table, no fetch", url)
        return lighter_markets.bundled()
    return lighter_markets.refresh()


def _contracts(venue: ModuleType, cfg: Config) -> contract_specs.Table:
    """Contract sizes from the venue's public endpoint; the bundled table when offline or simulated."""
    url = cfg.ingest.urls.get(venue.NAME, venue.URL)
    if not is_venue_host(url, venue.URL):
        log.info("%s: %s is not %s (simulator or demo): bundled contract sizes, no fetch", venue.NAME, url, venue.NAME)
        return contract_specs.bundled(venue.NAME)
    return contract_specs.fetch(venue.NAME, venue.CONTRACTS_URL, venue.contract_rows)


def warn_unlisted_okx(symbols: tuple[str, ...], listed: frozenset[str]) -> list[str]:
    """Warn once per tracked symbol that has no OKX swap in the ctVal table (its events could not be sized)."""
    missing = [s for s in symbols if s not in listed]
    small = len(listed) <= len(okx_instruments.bundled())
    for s in missing:
        log.warning("okx: tracked symbol %s is not listed on okx (no swap for it among the %d of the %s ctVal "
                    "table); its okx liquidations will be skipped", s, len(listed),
                    "bundled offline" if small else "instruments")
    return missing
