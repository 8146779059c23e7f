"""Prebuilt frames played verbatim at their times: pre-rendered finite flows and `liqcascade record` files."""
from __future__ import annotations

import asyncio
import gzip
import logging
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from liqcascade.sim.timeline import SimEvent, SimLiquidation

if TYPE_CHECKING:
    from liqcascade.sim.server import SimServer

log = logging.getLogger(__name__)

SLEEP_MIN_S = 0.0005  # paced(): items due sooner than this are yielded without sleeping first
YIELD_EVERY_S = 0.005  # paced(): the longest run of items without giving the event loop a turn
RENDER_S_PER_EVENT = 2e-6  # Prerendered.estimate_s(): generous; measured ~1.1 us per Bybit item
T = TypeVar("T")


async def paced(items: Iterable[tuple[float, T]], start: float) -> AsyncIterator[T]:
    """Yield each item at monotonic `start` + its offset; items due within SLEEP_MIN_S come back to back.

    An event loop sleep costs tens of microseconds and the loop's timer resolution is about 1 ms, so
    sleeping before every item would cap the rate far below what the wire and clients take.
    """
    yielded = time.monotonic()
    for at, item in items:
        now = time.monotonic()
        delay = start + at - now
        if delay > SLEEP_MIN_S:
            await asyncio.sleep(delay)
            yielded = time.monotonic()
        elif now - yielded > YIELD_EVERY_S:  # behind schedule: let the writers and housekeeping run
            await asyncio.sleep(0)
            yielded = time.monotonic()
        yield item


@dataclass(frozen=True, slots=True)
class Scheduled:
    """One prebuilt frame: sent at `at` seconds after the start to `venue`'s clients subscribed to
    `topic` (None: to every client of the venue that subscribed to anything)."""

    at: float
    venue: str
    topic: str | None
    text: str
    events: int = 0


def send(server: SimServer, f: Scheduled) -> None:
    """Offer one prebuilt frame, as is, to its venue's subscribed clients."""
    for c in server._targets(f.venue):
        if f.topic in c.session.streams if f.topic is not None else c.session.streams:
            server._offer(c, f.text)
    server.sent_events += f.events
    server.stats["prebuilt_frames"] += 1


async def play(server: SimServer, frames: Iterable[Scheduled], start: float) -> None:
    """Send `frames` (sorted by `at`) at monotonic `start` + `at`: no generation or encoding on the way."""
    try:
        async for f in paced(((f.at, f) for f in frames), start):
            send(server, f)
    finally:
        server.done.set()


# ---- pre-rendered flows ------------------------------------------------------------------------------


def can_prerender(venues: list[ModuleType], throttle: bool) -> bool:
    """Venues whose frames are the same text for every subscriber and that drop nothing (Bybit)."""
    return all(hasattr(v, "render") and (not throttle or not getattr(v, "THROTTLE_S", 0.0)) for v in venues)


@dataclass
class Prerendered:
    """A finite flow grouped into frames with times relative to the start; `render` stamps them."""

    frames: list[tuple[float, ModuleType, str, Any, int]]  # (at, venue, topic, payload, events)
    events: int

    def estimate_s(self) -> float:
        return 0.05 + RENDER_S_PER_EVENT * self.events

    def render(self, anchor_s: float) -> list[Scheduled]:
        """Encode every frame for a flow starting at wall time `anchor_s` (payloads are consumed)."""
        base = int(anchor_s * 1000)
        out = [Scheduled(at, venue.NAME, topic, venue.render(topic, payload, base + int(at * 1000), base), n)
               for at, venue, topic, payload, n in self.frames]
        self.frames = []
        return out


def prerender(venues: list[ModuleType], timeline: Iterable[tuple[float, SimEvent]],
              speed: float = 1.0) -> Prerendered:
    """Generate and group a finite timeline as `SimServer.play` would send it, before the clock starts.

    Payloads carry times in ms relative to the start (`render` adds the start). Batched topics (Bybit
    allLiquidation) collect a window's items and go out at the topic's own push phase (`batch_due`).
    Prebuilt frames bypass the server's backlog, so the `replay` fault has nothing to replay for them.
    """
    frames: list[tuple[float, ModuleType, str, Any, int]] = []
    open_: dict[tuple[str, str], tuple[float, ModuleType, list[Any], list[int]]] = {}
    events = 0
    for offset, ev in timeline:
        at = offset / speed
        for venue in venues:
            if isinstance(ev, SimLiquidation) and ev.venue not in (None, venue.NAME):
                continue
            encoded = venue.encode(ev, int(at * 1000))
            if encoded is None:
                continue
            key, payload = encoded
            events += 1
            window = venue.batch_window(key) if hasattr(venue, "batch_window") else 0.0
            if window <= 0:
                frames.append((at, venue, key, payload, 1))
                continue
            batch = open_.get((venue.NAME, key))
            if batch is None or at >= batch[0]:
                if batch is not None:
                    frames.append((batch[0], venue, key, venue.merge(batch[2]), batch[3][0]))
                batch = open_[venue.NAME, key] = (venue.batch_due(key, at), venue, [], [0])
            batch[2].append(payload)
            batch[3][0] += 1
    for (_, key), (due, venue, payloads, n) in open_.items():
        frames.append((due, venue, key, venue.merge(payloads), n[0]))
    frames.sort(key=lambda f: f[0])
    return Prerendered(frames, events)


# ---- recordings ---------------------------------------------------------------------------------------


def _lines(path: str) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        gzipped = fh.read(2) == b"\x1f\x8b"
    with (gzip.open(path, "rb") if gzipped else open(path, "rb")) as fh:
        for line in fh:
            if line.strip():
                yield line


def from_recording(path: str, venues: Iterable[str], speed: float = 1.0) -> Iterator[Scheduled]:
    """The frames of a `liqcascade record` file (gzip or plain JSONL `{"ts_recv", "exchange", "raw"}`),
    verbatim, at their recorded receive-time spacing divided by `speed`; frames of venues not served
    and lines that are not recording lines are skipped with a warning."""
    served = set(venues)
    t0: int | None = None
    skipped: dict[str, int] = {}
    for n, line in enumerate(_lines(path), 1):
        try:
            d = orjson.loads(line)
            ts, venue, raw = d["ts_recv"], d["exchange"], d["raw"]
            if not isinstance(ts, int) or not isinstance(raw, str):
                raise TypeError("ts_recv or raw has the wrong type")
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            log.warning("sim: %s line %d is not a recording line (%s): %.80r", path, n, exc, line)
            continue
        if venue not in served:
            skipped[venue] = skipped.get(venue, 0) + 1
            continue
        t0 = ts if t0 is None else t0
        yield Scheduled((ts - t0) / 1e9 / speed, venue, None, raw)
    for venue, k in skipped.items():
        log.warning("sim: skipped %d recorded %s frames: venue not served (--venues)", k, venue)
