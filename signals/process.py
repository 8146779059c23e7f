"""The signals process: metrics, prices and feed status in; signals, regime and metrics out to publisher and PUB."""
from __future__ import annotations

import logging
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import click
import zmq

from common import metrics, topics
from common.columns import LiquidationBatch
from common.config import Config, get_config
from common.lifecycle import StopFlag
from common.logs import RateLimitedLog, clip
from common.schema import FeedStatus, Liquidation, MetricsSnapshot, PriceTick, Regime, Signal
from common.sockets import send_frames
from common.worker import Worker
from signals import restore
from signals.generator import SignalGenerator
from signals.outbox import PublisherOutbox
from signals.trust import inconsistency

NS = 1_000_000_000

log = logging.getLogger(__name__)
Outgoing = dict[bytes, list[Any]]  # topic -> messages a step sends (`_flush`)


class SignalsProcess(Worker):
    """PULL (bind) from analytics shards and ingesters; PUSH (connect) to the publisher; PUB (bind).

    Signals, regime and statuses are stamped once and the same frames go to both outputs; snapshots and
    the liquidation tape go to the PUB at once (the tape split per symbol, `_tape`) and to the publisher,
    which only stores them, coalesced (`signals.outbox`). Each receiver sees one gap-free sequence per
    topic. The PUSH to the publisher never blocks the loop: when the publisher is gone and its queue is
    full, frames are dropped and counted (PUB drops on its own).

    A poll round forwards everything it received first (`_on_input`), then does the signal work on it
    (`on_drained`, in arrival order): a snapshot queued behind another one goes out before the other's
    ~0.1 ms of signal work instead of after it, and the generator sees the same calls in the same order.
    """

    name = "signals"

    def __init__(self, cfg: Config, stop: StopFlag | None = None, **kwargs: Any) -> None:
        super().__init__(cfg, stop, **kwargs)
        self.gen = SignalGenerator(cfg)
        self.dropped = 0
        self.signals_sent = 0
        self.untrusted = 0  # snapshots refused at the trust boundary (signals.trust)
        self.held = 0  # warming snapshots that did not move a held level
        self.restored: list[str] | None = None  # symbols whose level came back from Redis (None: none read)
        self.grace_until = 0  # before this clock ns, level changes are announced as states (no restore)
        self.warn = RateLimitedLog(log)
        self._last_regime: tuple[str, str, str] | None = None
        self._pull: zmq.Socket | None = None
        self._push: zmq.Socket | None = None
        self._pub: zmq.Socket | None = None
        self.outbox = PublisherOutbox(self._push_now, self.stamper.stamp, stamp_body=self.stamper.stamp_body)
        # The signal work of this poll round's messages, in arrival order: (handler, messages, receive clock).
        self._work: list[tuple[Callable[[Outgoing, list[Any], int], None], list[Any], int]] = []

    def on_start(self) -> None:
        self._pull = self.socket(zmq.PULL, self.cfg.endpoint("signals"), bind=True)
        self._push = self.socket(zmq.PUSH, self.cfg.endpoint("publisher"), bind=False)
        self._pub = self.socket(zmq.PUB, self.cfg.endpoint("pub"), bind=True)
        self.add_input(self._pull, self._on_input)
        self._restore()
        log.info("signals: in %s, out %s and %s", self.cfg.endpoint("signals"),
                 self.cfg.endpoint("publisher"), self.cfg.endpoint("pub"))

    def _restore(self) -> None:
        """Levels from before a restart: from Redis when it is there, else the first ones are states."""
        now = self.clock()
        saved = restore.load(self.cfg.redis)
        if saved is None:
            self.grace_until = now + int(self.cfg.signals.restart_grace_s * NS)
            return
        self.restored = restore.apply(self.gen, saved, now)
        if self.restored:
            log.info("signals: %d level(s) restored from Redis: %s", len(self.restored),
                     clip(", ".join(self.restored), 400))
            self.on_tick(now)  # announced once, now, as states (heartbeats flagged `restored`)

    def _on_input(self, topic: bytes, msgs: list[Any], now_ns: int) -> None:
        """What goes out as received goes out now; the signal work it brings waits for `on_drained`."""
        if topic.startswith(topics.METRICS + b"."):
            trusted = [s for s in msgs if isinstance(s, MetricsSnapshot) and self._trusted(s)]
            # Subscribers get the snapshot as received (one symbol per topic, no re-encoding) unless
            # something of it was refused.
            whole = self.raw_body if len(trusted) == len(msgs) else b""
            if whole:
                send_frames(self._pub, self.stamper.stamp_body(topic, whole))
            elif trusted:
                send_frames(self._pub, self.stamper.stamp(topic, trusted))
            self.outbox.add_snapshots(trusted, whole)  # the publisher keeps the latest only: coalesced
            self._work.append((self._on_metrics, trusted, now_ns))
        elif topic.startswith(topics.PRICE + b"."):
            send_frames(self._pub, self.stamper.stamp_body(topic, self.raw_body))  # dashboard
            self._work.append((self._on_prices, msgs, now_ns))
        elif topic.startswith(topics.LIQ + b"."):
            self._tape(topic, msgs)
        elif topic.startswith(topics.STATUS + b"."):
            self._work.append((self._on_statuses, msgs, now_ns))
        else:
            log.warning("signals: unexpected topic %r", topic[:64])

    def on_drained(self, now_ns: int) -> None:
        """The signal work of the round's messages, each with its own receive clock, as if done on receipt:
        what each message's work brings goes out before the next one's starts."""
        work, self._work = self._work, []
        for handle, msgs, received_ns in work:
            out: Outgoing = defaultdict(list)
            handle(out, msgs, received_ns)
            self._flush(out)

    def _on_metrics(self, out: Outgoing, trusted: list[MetricsSnapshot], now_ns: int) -> None:
        metrics.latency(trusted, now_ns)
        for snap in trusted:
            if self._hold(snap, now_ns):
                continue
            self._collect(out, self.gen.on_metrics(snap, now_ns))

    def _on_prices(self, out: Outgoing, ticks: list[Any], now_ns: int) -> None:
        for tick in ticks:
            if isinstance(tick, PriceTick):
                self.gen.on_price(tick)
        self._regime(out, now_ns, force=False)

    def _on_statuses(self, out: Outgoing, statuses: list[Any], now_ns: int) -> None:
        for st in statuses:
            if isinstance(st, FeedStatus):
                self.gen.on_status(st)
                out[topics.status(st.exchange)].append(st)

    def _tape(self, topic: bytes, liqs: list[Any]) -> None:
        """An ingester's liquidation batch (one shard's rows of a flush, validated on decode): the PUB gets
        one message per `liq.<exchange>.<SYMBOL>`, so subscribers filter by venue and symbol; the
        publisher gets the rows coalesced (`outbox`). One message per shard batch in, instead of one per
        symbol, is what keeps the tape's wakeups few at high rates."""
        if isinstance(liqs, LiquidationBatch):  # a column body (32+ rows): split on whole columns
            groups = liqs.groups("exchange", "symbol")
        else:  # a few rows: a dict costs less than numpy calls; another kind on a tape topic is not relayed
            liqs = [m for m in liqs if type(m) is Liquidation]
            groups = _by_symbol(liqs)
        if not groups:
            return
        self.outbox.add_tape(topic, liqs)
        self._wake_for_outbox()
        for (exchange, symbol), group in groups:
            send_frames(self._pub, self.stamper.stamp(topics.liquidation(exchange, symbol), group))

    def on_tick(self, now_ns: int) -> None:
        out: Outgoing = defaultdict(list)
        self._collect(out, self.gen.on_tick(now_ns))
        self._regime(out, now_ns, force=True)
        self._flush(out)

    def _hold(self, snap: MetricsSnapshot, now_ns: int) -> bool:
        """True when a warming snapshot must not move the symbol's level.

        A restarted shard's fresh state misses the history before its start (velocities read low,
        acceleration high). A level set before that state began (`state_start_ns`) is held (kept
        alive, neither raised nor lowered) until the shard's snapshots are warm again; a level
        reached since (a pipeline's first start, a cascade beginning after the restart) moves as usual.
        """
        extra = snap.extra
        if not extra.get("warming"):
            return False
        st = self.gen.states.get(snap.symbol)
        start = extra.get("state_start_ns")
        if st is None or not st.level or (type(start) is int and st.changed_ns >= start):
            return False
        st.last_snapshot_ns = now_ns  # alive: no decay to NONE while held
        self.held += 1
        return True

    def _trusted(self, snap: MetricsSnapshot) -> bool:
        why = inconsistency(snap)
        if why is None:
            return True
        self.untrusted += 1
        self.warn.warning("trust", "signals: refused snapshot of %s (%d so far): %s", clip(snap.symbol, 48),
                          self.untrusted, why)
        return False

    def _collect(self, out: Outgoing, sigs: list[Signal]) -> None:
        if sigs and sigs[0].ts < self.grace_until:
            # A fresh process without saved levels cannot tell a change from what consumers already
            # know: its first levels go out once as states (heartbeats), never as changes.
            sigs = [s if s.heartbeat else replace(s, heartbeat=True, components={**s.components, "initial": True})
                    for s in sigs]
        for sig in sigs:
            out[topics.signal(sig.level, sig.symbol)].append(sig)
            if not sig.heartbeat:
                log.info("signals: %s %s -> %s p=%.2f %s", sig.symbol, sig.previous_level, sig.level,
                         sig.probability, sig.direction)
        self.signals_sent += len(sigs)
        metrics.signals(sigs)

    def _regime(self, out: Outgoing, now_ns: int, force: bool) -> None:
        """Regime on change (name, liquidity, trend) and on every heartbeat."""
        regime: Regime = self.gen.regime(now_ns)
        key = (regime.regime, regime.liquidity, regime.trend)
        if force or key != self._last_regime:
            self._last_regime = key
            out[topics.REGIME].append(regime)

    def _flush(self, out: Outgoing) -> None:
        if any(not m.heartbeat for topic, msgs in out.items() if topic.startswith(topics.SIGNAL) for m in msgs):
            # A level change: what the outbox holds (the snapshots behind it) reaches the publisher first, so
            # velocity:<SYMBOL> already holds them when the alert is published.
            self.outbox.flush()
        for topic, msgs in out.items():
            self._send(self.stamper.stamp(topic, msgs))
            self.events_out += len(msgs)
        self._wake_for_outbox()

    def _wake_for_outbox(self) -> None:
        if self.outbox.due is not None:
            self.wake_at(self.outbox.due)

    def on_wakeup(self, now_ns: int) -> None:
        self.outbox.flush_if_due()
        self._wake_for_outbox()

    def _send(self, frames: list[bytes]) -> None:
        """The same frames to the PUB and, never blocking, to the publisher."""
        send_frames(self._pub, frames)
        self._push_now(frames)

    def _push_now(self, frames: list[bytes]) -> None:
        try:
            send_frames(self._push, frames, zmq.NOBLOCK)
        except zmq.Again:
            self.dropped += 1
            self.warn.warning("push", "signals: publisher not keeping up, %d batch(es) dropped", self.dropped)

    def on_stop(self) -> None:
        self.outbox.flush()
        log.info("signals: %d signal(s) sent, %d batch(es) dropped towards the publisher, %d snapshot(s) "
                 "refused as inconsistent, %d warming snapshot(s) held", self.signals_sent, self.dropped,
                 self.untrusted, self.held)


@click.command("signals")
@click.pass_context
def command(ctx: click.Context) -> None:
    """Run the signals process (regime, cascade levels, MARKET signal)."""

    cfg = get_config(ctx, process="signals")
    sys.exit(SignalsProcess(cfg, StopFlag().install()).run())


def _by_symbol(liqs: list[Liquidation]) -> list[tuple[tuple[str, str], list[Liquidation]]]:
    """Rows split by (exchange, symbol), each in arrival order (`LiquidationBatch.groups` for rows)."""
    groups: dict[tuple[str, str], list[Liquidation]] = {}
    for liq in liqs:
        key = (liq.exchange, liq.symbol)
        group = groups.get(key)
        if group is None:
            groups[key] = [liq]
        else:
            group.append(liq)
    return list(groups.items())
