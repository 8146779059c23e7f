"""The publisher outbox: the tape and the latest snapshot per symbol held for the linger, then one message each."""
from __future__ import annotations

from common.schema import Liquidation
from common.wire import SeqStamper, decode
from signals import outbox
from signals.outbox import PublisherOutbox
from tests.unit.signals.helpers import snap


def liq(symbol: str, usd: float = 10.0) -> Liquidation:
    return Liquidation("bybit", symbol, symbol, "long", 10.0, usd / 10.0, usd, 1, 2)


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def make() -> tuple[PublisherOutbox, list, Clock]:
    sent: list = []
    clock = Clock()
    box = PublisherOutbox(lambda frames: sent.append(decode(frames)), SeqStamper("signals").stamp,
                          linger_s=0.05, monotonic=clock)
    return box, sent, clock


def test_tape_and_snapshots_wait_for_the_linger_then_go_as_one_message_each():
    box, sent, clock = make()
    box.add_tape(b"liq.shard0", [liq("BTCUSDT"), liq("ETHUSDT")])
    box.add_tape(b"liq.shard0", [liq("BTCUSDT", 20.0)])
    box.add_tape(b"liq.shard1", [liq("SOLUSDT")])
    box.add_snapshots([snap(0.2, 1.0, symbol="BTCUSDT"), snap(0.3, 1.0, symbol="ETHUSDT")])
    box.add_snapshots([snap(0.6, 2.0, symbol="BTCUSDT")])
    assert box.due == 100.05
    clock.t = 100.049
    box.flush_if_due()
    assert sent == []
    clock.t = 100.05
    box.flush_if_due()
    by_topic = {topic: msgs for topic, _, _, msgs in sent}
    assert len(sent) == 3
    assert [m.notional_usd for m in by_topic[b"liq.shard0"]] == [10.0, 10.0, 20.0]  # arrival order
    assert [m.symbol for m in by_topic[b"liq.shard1"]] == ["SOLUSDT"]
    assert {m.symbol: m.risk for m in by_topic[outbox.SNAPSHOTS]} == {"BTCUSDT": 0.6, "ETHUSDT": 0.3}  # latest
    assert box.due is None and box.rows == 0
    box.flush_if_due()
    assert len(sent) == 3  # nothing held, nothing sent


def test_a_full_tape_goes_out_before_the_linger():
    box, sent, _ = make()
    box.add_tape(b"liq.shard0", [liq("BTCUSDT")] * (outbox.MAX_ROWS - 1))
    assert sent == []
    box.add_tape(b"liq.shard0", [liq("BTCUSDT")])
    assert [len(msgs) for _, _, _, msgs in sent] == [outbox.MAX_ROWS]
    assert box.due is None


def test_snapshots_received_whole_go_out_as_their_rows_joined_byte_for_byte_as_packed_again():
    stamper = SeqStamper("analytics-0")
    received = [snap(0.2, 1.0, symbol="BTCUSDT"), snap(0.3, 1.0, symbol="ETHUSDT"), snap(0.6, 2.0, symbol="BTCUSDT")]
    bodies = [stamper.stamp(b"metrics." + s.symbol.encode(), [s])[2] for s in received]
    frames: dict[str, list] = {"joined": [], "packed": [], "mixed": []}
    boxes = {how: PublisherOutbox(frames[how].append, SeqStamper("signals").stamp,
                                  stamp_body=SeqStamper("signals").stamp_body) for how in frames}
    for i, (s, body) in enumerate(zip(received, bodies, strict=True)):
        boxes["joined"].add_snapshots([s], body)
        boxes["packed"].add_snapshots([s])
        boxes["mixed"].add_snapshots([s], body if i < 2 else b"")  # the latest BTC came partly refused
    for box in boxes.values():
        box.flush()
    assert [bytes(f) for f in frames["joined"][0]] == [bytes(f) for f in frames["packed"][0]]
    assert [bytes(f) for f in frames["mixed"][0]] == [bytes(f) for f in frames["packed"][0]]
    assert [m.risk for m in decode(frames["joined"][0])[3]] == [0.6, 0.3]  # latest per symbol, first-seen order
    assert boxes["joined"].packed == {}
