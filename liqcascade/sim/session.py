"""One simulated client connection's protocol state."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Session:
    venue: str
    streams: set[str] = field(default_factory=set)
    combined: bool = False
    silent: bool = False  # accepts subscriptions but never delivers (Binance's retired legacy base)
    sent: int = 0
    requests: list[float] = field(default_factory=list)  # monotonic times of recent requests (rate limits)
    recent: Any = None  # the server's recent liquidations of this venue, for subscribe replies that replay them
    snapshots: set[str] = field(default_factory=set)  # topics whose snapshot was sent (Bybit tickers: deltas next)
    state: dict[str, float] = field(default_factory=dict)  # venue-specific timers (Deribit heartbeats)
