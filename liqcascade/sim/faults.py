"""Fault schedules for the simulator CLI: `--faults "disconnect@20,stall@40:10,garbage@5"`."""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from common.schema import LONG
from liqcascade.sim.timeline import SimLiquidation

if TYPE_CHECKING:
    from liqcascade.sim.server import Client, SimServer

log = logging.getLogger(__name__)

# name -> (what the optional ":ARG" means, its default)
KINDS: dict[str, tuple[str, float]] = {
    "disconnect": ("close code (1006 = abrupt)", 1006),
    "stall": ("seconds silent", 10.0),
    "garbage": ("frames per client", 3),
    "truncated": ("frames per client", 1),
    "replay": ("frames replayed after each later subscribe", 5),
    "pings": ("seconds a client may stay silent before it is closed (0 = off)", 30.0),
    "notice": ("seconds from the OKX 64008 notice to the disconnect", 5.0),
    "maxage": ("maximum connection age in seconds (0 = off)", 86_400.0),
    "hostile": ("rounds of 4 hostile liquidation frames per client: a list side, qty 1e160, a time beyond "
                "int64 ns, a time in 2100", 1),
}

# Where a venue's encoded liquidation keeps the fields the chaos run broke: (item, side, qty, time).
_HOSTILE_FIELDS: dict[str, tuple[Any, str, str, str]] = {
    "binance": (lambda p: p["o"], "S", "z", "T"),
    "bybit": (lambda p: p[0], "S", "v", "T"),
    "okx": (lambda p: p["data"][0]["details"][0], "side", "sz", "ts"),
    "hyperliquid": (lambda p: p, "side", "sz", "time"),
    "aster": (lambda p: p["o"], "S", "z", "T"),
    "lighter": (lambda p: p["liquidation_trades"][0], "is_maker_ask", "size", "timestamp"),
    "dydx": (lambda p: p, "side", "size", "createdAt"),
    "gate": (lambda p: p, "size", "size", "time_ms"),  # the side is the sign of size
    "bitget": (lambda p: p, "side", "amount", "ts"),
    "deribit": (lambda p: p[0], "direction", "amount", "timestamp"),
    # bitmex: liquidation rows carry no time, so the two time values cannot be sent (see the fault tests)
}
# Venues whose times are ISO strings get the same hostile instants written that way.
_HOSTILE_TIME_TEXT = {"dydx": lambda ms: datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")}
_HOSTILE_VALUES: tuple[tuple[int, object], ...] = (
    (1, []), (2, "1e160"), (3, 2**64 // 10**6 + 1), (3, 4_102_444_800_000))  # (field index in spec, value)


GARBAGE: tuple[str | bytes, ...] = ("\x00\x01garbage{", '{"unexpected":true}', "[1,2,3]", b"\xff\xfe\x00binary")


class FaultInjection:
    """The SimServer's fault methods (kept apart so the server module stays about serving)."""

    stats: Any
    replay: int
    ping_limits: dict[str, float | None]
    max_age_s: float | None
    _backlog: Any

    async def disconnect_all(self, code: int = 1006, venue: str | None = None) -> int:
        """Fault: drop every client (of `venue`) abruptly (1006: no close frame) or with a close code."""
        targets = self._targets(venue)
        for c in targets:
            self._kill(c, None if code == 1006 else (code, "sim disconnect"))
        self.stats["disconnects"] += len(targets)
        return len(targets)

    def stall(self, seconds: float, venue: str | None = None) -> int:
        """Fault: keep the connections open but send nothing at all (data, acks, pongs) for `seconds`.

        Protocol-level pings continue (the websockets library sends them): they must not keep the
        client's stale-feed watchdog quiet.
        """
        targets = self._targets(venue)
        for c in targets:
            c.stalled_until = time.monotonic() + seconds
        self.stats["stalls"] += len(targets)
        return len(targets)

    def send_garbage(self, n: int = 1, venue: str | None = None) -> int:
        """Fault: frames that are no venue's protocol (binary junk, unknown JSON shapes)."""
        sent = 0
        for c in self._targets(venue):
            for i in range(n):
                self._offer(c, GARBAGE[i % len(GARBAGE)])
                sent += 1
        self.stats["garbage"] += sent
        return sent

    def send_frames(self, frames: list[str | bytes], venue: str | None = None) -> int:
        """Fault: these exact frames (well-formed JSON with hostile values, e.g. recorded from a chaos run)."""
        sent = 0
        for c in self._targets(venue):
            for text in frames:
                self._offer(c, text)
                sent += 1
        self.stats["raw_frames"] += sent
        return sent

    def send_hostile(self, rounds: int = 1, venue: str | None = None) -> int:
        """Fault: the chaos run's well-formed liquidation frames with one hostile value each (see KINDS)."""
        sent = 0
        for c in self._targets(venue):
            spec = _HOSTILE_FIELDS.get(c.venue.NAME)
            if spec is None:
                continue
            for _ in range(rounds):
                for field_index, value in _HOSTILE_VALUES:
                    encoded = c.venue.encode(SimLiquidation("BTCUSDT", LONG, 60_000.0, 1.0), int(time.time() * 1000))
                    if encoded is None:
                        continue
                    key, payload = encoded
                    if hasattr(c.venue, "merge") and c.venue.batch_window(key) > 0:
                        payload = c.venue.merge([payload])
                    if field_index == 3 and c.venue.NAME in _HOSTILE_TIME_TEXT:
                        value = _HOSTILE_TIME_TEXT[c.venue.NAME](value)
                    spec[0](payload)[spec[field_index]] = value
                    text = c.venue.frame(c.session, key, payload)
                    if text is not None:
                        self._offer(c, text)
                        sent += 1
        self.stats["hostile"] += sent
        return sent

    def send_truncated(self, n: int = 1, venue: str | None = None) -> int:
        """Fault: a real liquidation frame cut in half (never recorded as delivered)."""
        sent = 0
        for c in self._targets(venue):
            backlog = self._backlog[c.venue.NAME]
            if backlog:
                key, payload, _ = backlog[-1]
            else:
                encoded = c.venue.encode(SimLiquidation("BTCUSDT", LONG, 60_000.0, 1.0), int(time.time() * 1000))
                if encoded is None:
                    continue
                key, payload = encoded
                if hasattr(c.venue, "merge") and c.venue.batch_window(key) > 0:
                    payload = c.venue.merge([payload])
            text = c.venue.frame(c.session, key, payload)
            for _ in range(n if text else 0):
                self._offer(c, text[: len(text) // 2])
                sent += 1
        self.stats["truncated"] += sent
        return sent

    def set_replay(self, n: int) -> None:
        """Fault: right after a subscribe, replay the last `n` liquidation frames (OKX does this)."""
        self.replay = n

    def _replay(self, c: Client) -> None:
        if not self.replay or not c.session.streams:
            return
        for item in list(self._backlog[c.venue.NAME])[-self.replay:]:
            if id(item) in c.replayed:
                continue
            text = c.venue.frame(c.session, item[0], item[1])
            if text is not None:  # e.g. Hyperliquid fills need the userFills subscription first
                c.replayed.add(id(item))
                self.stats["replayed"] += 1
                self._offer(c, text, item[2])

    def expect_pings(self, limit_s: float | None, venue: str | None = None) -> None:
        """Close clients that sent nothing (no app ping) for `limit_s` (None: never). Defaults: PING_LIMIT_S."""
        for name in self.ping_limits:
            if venue in (None, name):
                self.ping_limits[name] = limit_s

    def set_max_age(self, seconds: float | None) -> None:
        """Close connections older than `seconds` (Binance closes at 24 h)."""
        self.max_age_s = seconds

    def notice_then_disconnect(self, after_s: float, venue: str = "okx") -> int:
        """Fault: send the venue's maintenance notice (OKX 64008), then drop those still connected after `after_s`."""
        targets = [c for c in self._targets(venue) if hasattr(c.venue, "notice")]
        for c in targets:
            self._offer(c, c.venue.notice(c.session))
        self.stats["notices"] += len(targets)
        self._spawn(self._kill_later(targets, after_s))
        return len(targets)

    async def _kill_later(self, targets: list[Client], after_s: float) -> None:
        await asyncio.sleep(after_s)
        for c in targets:
            if not c.dead:
                self.stats["notice_kills"] += 1
                self._kill(c)
        self.stats["notice_deadlines"] += 1


@dataclass(frozen=True)
class Fault:
    kind: str
    at_s: float
    arg: float
    venue: str | None = None


def parse_spec(spec: str) -> list[Fault]:
    """`KIND@SECONDS[:ARG][/VENUE]`, comma-separated, e.g. `stall@40:10/okx`; sorted by time."""
    faults = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        body, _, venue = part.partition("/")
        kind, _, at = body.partition("@")
        if kind not in KINDS or not at:
            raise ValueError(f"bad fault {part!r}: expected KIND@SECONDS[:ARG][/VENUE], KIND one of {sorted(KINDS)}")
        at_s, _, arg = at.partition(":")
        try:
            faults.append(Fault(kind, float(at_s), float(arg) if arg else KINDS[kind][1], venue or None))
        except ValueError:
            raise ValueError(f"bad fault {part!r}: time and argument must be numbers") from None
    return sorted(faults, key=lambda f: f.at_s)


async def apply(server: SimServer, fault: Fault) -> int:
    """Inject one fault now; returns how many clients (or frames) it touched."""
    k, a, v = fault.kind, fault.arg, fault.venue
    if k == "disconnect":
        return await server.disconnect_all(int(a), v)
    if k == "stall":
        return server.stall(a, v)
    if k == "garbage":
        return server.send_garbage(int(a), v)
    if k == "truncated":
        return server.send_truncated(int(a), v)
    if k == "hostile":
        return server.send_hostile(int(a), v)
    if k == "replay":
        server.set_replay(int(a))
        return 0
    if k == "pings":
        server.expect_pings(a or None, v)
        return 0
    if k == "notice":
        return server.notice_then_disconnect(a, v or "okx")
    server.set_max_age(a or None)
    return 0


async def run_schedule(server: SimServer, faults: list[Fault]) -> None:
    """Apply each fault at its offset (seconds since the call)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for fault in faults:
        await asyncio.sleep(max(0.0, start + fault.at_s - loop.time()))
        touched = await apply(server, fault)
        log.info("sim: fault %s@%.1f:%g%s applied (%d)", fault.kind, fault.at_s, fault.arg,
                 f"/{fault.venue}" if fault.venue else "", touched)
