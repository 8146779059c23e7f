"""Per-venue startup I/O, kept out of the pure parser modules: reference data and watched users."""
from __future__ import annotations

import logging
from types import ModuleType

from common.config import Config
from ingest import okx_instruments
from ingest.exchanges import hyperliquid, okx

log = logging.getLogger(__name__)


def prepare(venue: ModuleType, cfg: Config) -> None:
    """Load what a venue's parser needs before the first frame (once per process start)."""
    if venue.NAME == "okx":

        # ctVal from OKX's public instruments endpoint, cached on disk; bundled table when offline.
        okx.set_instruments(okx_instruments.refresh(cache_path=cfg.ingest.okx_ctval_cache, timeout=5.0))
    elif venue.NAME == "hyperliquid" and hasattr(venue, "set_users"):  # not the node-fills tailer

        hyperliquid.set_users(cfg.ingest.hyperliquid_users)
        log.info("hyperliquid: watching the fills of %d address(es): a sample, not the venue-wide tape",
                 len(cfg.ingest.hyperliquid_users))
