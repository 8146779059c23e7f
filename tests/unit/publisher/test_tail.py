"""Tail: level filter, rendering, and the Redis source stopping on its flag."""
from __future__ import annotations

import shutil

import click
import orjson

from common.config import load_config
from common.lifecycle import StopFlag
from common.schema import Signal
from liqcascade.launcher import tail_width
from publisher.tail import REDIS_CHANNEL, from_redis, json_line, passes, render


def sig(level: str, prev: str = "NONE", heartbeat: bool = False) -> dict:
    return Signal(symbol="BTCUSDT", level=level, probability=0.62, confidence=0.8, direction="long",
                  regime="HIGH", explanation="BTCUSDT ALERT: flow.", ts=1_700_000_000_123_000_000,
                  previous_level=prev, heartbeat=heartbeat).to_json_dict()


def test_level_filter_keeps_higher_levels_and_the_step_down():
    assert passes(sig("CRITICAL"), "ALERT") and passes(sig("ALERT"), "ALERT")
    assert not passes(sig("WATCH"), "ALERT")
    assert passes(sig("NONE", prev="CRITICAL"), "ALERT")  # the end of a shown episode
    assert not passes(sig("NONE", prev="WATCH"), "ALERT")


def test_render_plain_and_colored():
    line = render(sig("ALERT", "WATCH"), color=False)
    assert line.startswith("22:13:20.123 ALERT    BTCUSDT")
    assert "p=0.62 conf=0.80 long  HIGH  WATCH->ALERT  BTCUSDT ALERT: flow." in line
    colored = render(sig("ALERT", "WATCH"))
    assert click.unstyle(colored) == line and colored != line
    assert "(heartbeat)" in render(sig("ALERT", "ALERT", heartbeat=True), color=False)


def test_json_line_is_the_signal_dict():
    d = orjson.loads(json_line(sig("EXTREME")))
    assert d["level"] == d["signal"] == "EXTREME" and d["ts"] == 1_700_000_000_123


class FakePubSub:
    def __init__(self, messages: list, stop: StopFlag) -> None:
        self.messages, self.stop, self.channels, self.closed = list(messages), stop, [], False

    def subscribe(self, channel: str) -> None:
        self.channels.append(channel)

    def get_message(self, timeout: float):
        if not self.messages:
            self.stop.set()
            return None
        return self.messages.pop(0)

    def close(self) -> None:
        self.closed = True


class FakeRedis:
    def __init__(self, ps: FakePubSub) -> None:
        self.ps = ps

    def pubsub(self, ignore_subscribe_messages: bool = False) -> FakePubSub:
        return self.ps


def test_redis_source_yields_signals_skips_junk_and_stops():
    stop = StopFlag()
    ps = FakePubSub([{"type": "message", "data": orjson.dumps(sig("ALERT"))},
                     {"type": "message", "data": b"{junk"}, None,
                     {"type": "message", "data": orjson.dumps(sig("NONE", "ALERT"))}], stop)
    got = list(from_redis(load_config(env={}), stop, client=FakeRedis(ps)))
    assert [g["level"] for g in got] == ["ALERT", "NONE"]
    assert ps.channels == [REDIS_CHANNEL] and ps.closed


def test_render_fits_the_width_and_says_the_level_once():
    s = sig("CRITICAL", "ALERT")
    s["explanation"] = ("BTCUSDT CRITICAL: cascade probability 74%, long side liquidated; BTCUSDT: $973k of longs "
                        "liquidated in 2 s, 19.5× the $25k/s floor, accelerating, on 4 of 4 venues (ρ 0.51); regime "
                        "HIGH (x1.9); BTC +111 bps in 60 s (odds x0.67).")
    text = render(s, color=False, width=70)
    lines = text.splitlines()
    assert all(len(line) <= 70 for line in lines), lines
    assert lines[0] == "22:13:20 BTCUSDT    ALERT->CRITICAL    p=0.62 conf=0.80 long  HIGH"
    assert text.count("CRITICAL") == 1 and text.count("BTCUSDT") == 1  # the level and the symbol said once
    assert lines[1].startswith("    $973k of longs liquidated") and "(odds x0.67)." in lines[-1]
    colored = render(s, width=70)
    assert click.unstyle(colored) == text and "\x1b[31m" in colored  # CRITICAL in red


def test_up_leaves_room_for_honchos_prefix():
    procs = [("ingest-hyperliquid", []), ("tail", [])]
    assert tail_width(procs, 100) == min(100, shutil.get_terminal_size((100, 24)).columns) - 30
    assert tail_width(procs, 50) == 40  # never narrower than 40
