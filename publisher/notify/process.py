"""The notifier process: SUB to the signals PUB (signals, metrics, the tape), messages out through apprise."""
from __future__ import annotations

import logging
import sys
import time
from typing import Any

import click
import zmq

from common import topics
from common.config import Config, ConfigError, get_config
from common.lifecycle import StopFlag
from common.schema import Liquidation, MetricsSnapshot, Signal
from common.worker import Worker
from publisher.notify.delivery import Courier
from publisher.notify.destination import Destination
from publisher.notify.episodes import Episodes, Notice, Window
from publisher.notify.render import render
from publisher.notify.rules import MARKET, destinations

log = logging.getLogger(__name__)

STOP_DELIVERY_S = 2.5  # of the 5 s stop budget, after up to 1 s of input drain: time left for queued messages


class Notifier(Worker):
    """Works without Redis: everything it needs is on the signals process's PUB socket.

    Metrics snapshots give each signal its USD in the last 10 s / 60 s (a symbol's snapshot is published
    just before the signal it causes); the tape gives each episode its total and the single-liquidation
    messages. Messages are rendered here and queued per destination; sending happens in the couriers.
    """

    name = "notify"

    def __init__(self, cfg: Config, stop: StopFlag | None = None, **kwargs: Any) -> None:
        super().__init__(cfg, stop, **kwargs)
        dests = destinations(cfg.notify)
        self.targets = [Destination(d.url, cfg.notify.timeout_s) for d in dests]
        self.episodes = Episodes(dests, cfg.notify.repeat_interval_s)
        self.couriers = [Courier(t.name, t.send, cfg.notify) for t in self.targets]
        self.windows: dict[str, Window] = {}
        self.notices = 0

    def on_start(self) -> None:
        sub = self.socket(zmq.SUB, self.cfg.endpoint("pub"), bind=False,
                          subscribe=(topics.SIGNAL + b".", topics.METRICS + b".", topics.LIQ + b"."))
        self.add_input(sub, self._on_message)
        for c in self.couriers:
            c.start()
        log.info("notify: %d destination(s): %s", len(self.targets), ", ".join(t.name for t in self.targets))

    def _on_message(self, topic: bytes, msgs: list[Any], now_ns: int) -> None:
        for m in msgs:
            if type(m) is Liquidation:
                self._post(self.episodes.on_liquidation(m))
            elif isinstance(m, MetricsSnapshot):
                v = m.velocity_usd_per_s
                self.windows[m.symbol] = Window(v.get("10s", 0.0) * 10.0, v.get("60s", 0.0) * 60.0,
                                                tuple(sorted(x for x, usd in m.by_venue.items() if usd > 0)))
            elif isinstance(m, Signal):
                self._post(self.episodes.on_signal(m, self._window(m)))

    def _window(self, sig: Signal) -> Window:
        """The symbol's latest window; MARKET sums its member symbols'. Venues as the signal states them."""
        if sig.symbol == MARKET:
            parts = [self.windows[s] for s in sig.components.get("symbols", {}) if s in self.windows]
            w = Window(sum(p.usd_10s for p in parts), sum(p.usd_60s for p in parts),
                       tuple(sorted({v for p in parts for v in p.venues})))
        else:
            w = self.windows.get(sig.symbol, Window())
        venues = sig.data_quality.get("venues")
        return Window(w.usd_10s, w.usd_60s, tuple(venues)) if venues else w

    def _post(self, notices: list[tuple[int, Notice]]) -> None:
        for i, n in notices:
            title, body = render(n, self.targets[i].format)
            self.couriers[i].offer(title, body)
            self.notices += 1
            log.info("notify: %s %s -> %s", n.kind, n.symbol, self.targets[i].name)

    def on_stop(self) -> None:
        deadline = time.monotonic() + STOP_DELIVERY_S
        for c in self.couriers:
            c.finish()
        for c in self.couriers:
            c.close(deadline)
            log.info("notify: %s: %d sent, %d retried, %d failed, %d dropped", c.name, c.sent, c.retried,
                     c.failed, c.dropped)


@click.command("notify")
@click.pass_context
def command(ctx: click.Context) -> None:
    """Send signals and large liquidations to chat (Apprise URLs: $NOTIFY_URLS or [notify] in the config)."""

    cfg = get_config(ctx, process="notify")
    try:
        if not destinations(cfg.notify):
            log.info("notify: no destinations configured (set NOTIFY_URLS or [notify] urls); nothing to do")
            sys.exit(0)
        notifier = Notifier(cfg, StopFlag().install())
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    sys.exit(notifier.run())
