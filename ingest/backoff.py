"""Capped, jittered exponential backoff for reconnects (never gives up)."""
from __future__ import annotations

import random


class Backoff:
    """delay(n) = uniform(0, min(cap, base * 2**n)): "full jitter", so a fleet does not reconnect in step."""

    def __init__(self, base_s: float, cap_s: float, rng: random.Random | None = None) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self.attempt = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        ceiling = min(self.cap_s, self.base_s * (2 ** min(self.attempt, 30)))
        self.attempt += 1
        return self.base_s / 2 + self._rng.uniform(0, ceiling)

    def reset(self) -> None:
        self.attempt = 0
