"""`liqcascade backtest --store`: a stored period replayed through the same analytics and signals as a file."""
from __future__ import annotations

import time
from collections.abc import Iterator

import click

from common.config import Config
from common.schema import Liquidation
from liqcascade.tools.backtest import Replay
from publisher.store import queries as q
from publisher.store.backend import Backend
from publisher.store.commands import open_for_reading
from publisher.store.timespec import parse_time

_FIELDS = "exchange, symbol, native_symbol, side, price, qty, notional_usd, ts_event, ts_recv, throttled"


def stored_liquidations(db: Backend, f: q.Filter) -> Iterator[Liquidation]:
    """The stored liquidations of a period in event-time order, streamed in chunks."""
    where, params = f.where("ts_event")
    for rows in db.iter_query(f"SELECT {_FIELDS} FROM liquidations WHERE {where} ORDER BY ts_event, dedupe_key",
                              params):
        for r in rows:  # the store keeps `throttled`, not the completeness word (sampled/unknown read as complete)
            yield Liquidation(*r, "throttled" if r[-1] else "complete")


def replay_store(cfg: Config, since: str, until: str, symbols: tuple[str, ...] = ()) -> Replay:
    """Replay [since, until) from the configured store. Only liquidations are stored (no BTC prices), so the
    regime is UNKNOWN throughout, as in a replay of a file without price lines."""
    now = time.time_ns()
    try:
        f = q.Filter(parse_time(since, now), parse_time(until, now), symbols)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    db = open_for_reading(cfg)
    try:
        rep = Replay(cfg)
        rep.run(stored_liquidations(db, f))
        return rep
    finally:
        db.close()
