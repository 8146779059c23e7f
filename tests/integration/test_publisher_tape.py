"""The publisher's half of the tape: liquidations into the capped `liquidations:stream`, or skipped."""
from __future__ import annotations

import threading

import zmq

from common import topics
from common.config import load_config
from common.schema import Liquidation, Signal
from common.wire import SeqStamper
from publisher.redis_sink.contract import liquidation_fields
from publisher.redis_sink.process import Publisher
from publisher.redis_sink.tape_sink import TapeSink
from publisher.tape import from_fields
from tests.polling import wait_until
from tests.redis_server import RedisServer

LIQ = Liquidation("bybit", "BTCUSDT", "BTCUSDT", "long", 97_300.0, 1.0, 97_300.0, 1, 2)
SIG = Signal("BTCUSDT", "ALERT", 0.7, 0.8, "long", "NORMAL", "why", 1_700_000_000_000_000_000)


def run_publisher(tmp_path, redis_url: str, maxlen: int, batches: int) -> Publisher:
    cfg = load_config(overrides={"pipeline": {"ipc_dir": str(tmp_path)},
                                 "redis": {"url": redis_url, "liquidations_maxlen": maxlen}}, env={})
    pub = Publisher(cfg)
    thread = threading.Thread(target=pub.run, daemon=True)
    thread.start()
    ctx = zmq.Context()
    push = ctx.socket(zmq.PUSH)
    push.connect(cfg.endpoint("publisher"))
    stamper = SeqStamper("ingest.bybit")
    for _ in range(batches):
        push.send_multipart(stamper.stamp(topics.liquidation("bybit", "BTCUSDT"), [LIQ] * 10))
    push.send_multipart(SeqStamper("signals").stamp(topics.signal("ALERT", "BTCUSDT"), [SIG]))
    wait_until(lambda: pub.sink.written >= 1, 10, what="the signal written")
    pub.stop.set()
    thread.join(5)
    push.close(0)
    ctx.term()
    return pub


def test_every_liquidation_is_a_stream_entry_capped_near_maxlen(tmp_path):
    srv = RedisServer().start()
    try:
        pub = run_publisher(tmp_path, srv.url, maxlen=200, batches=100)  # 1000 liquidations
        r = srv.client()
        assert pub.tape.written == 1000 and pub.gaps.gaps == 0
        assert 200 <= r.xlen("liquidations:stream") < 1000  # approximate trimming: about MAXLEN, never all
        assert r.llen("cascade:signals:history") == 1
    finally:
        srv.stop()


def test_maxlen_zero_skips_the_tape_without_decoding_it(tmp_path):
    srv = RedisServer().start()
    try:
        pub = run_publisher(tmp_path, srv.url, maxlen=0, batches=5)
        assert pub.tape.written == 0 and not srv.client().exists("liquidations:stream")
        assert srv.client().llen("cascade:signals:history") == 1 and pub.gaps.gaps == 0
    finally:
        srv.stop()


def tape_sink(url: str, maxlen: int = 1000) -> TapeSink:
    return TapeSink(load_config(overrides={"redis": {"url": url, "liquidations_maxlen": maxlen}}, env={}).redis)


ODD = Liquidation("okx", "ETHUSDT", "ETH-USDT-SWAP", "short", 3012.35, 0.1 + 0.2, 904.0050000000001,
                  1_700_000_000_123_456_789, 1_700_000_000_223_456_789, True, "throttled")


def test_a_batch_is_written_in_order_as_the_text_xadd_writes():
    """One script call per batch (contract.TAPE_SCRIPT): each entry holds what XADD of the fields would store,
    nanosecond timestamps and float reprs exact, in arrival order."""
    srv = RedisServer().start()
    try:
        sink, r = tape_sink(srv.url), srv.client()
        batch = [LIQ, ODD, LIQ._replace(ts_event=3)]
        sink.add(batch)
        assert sink.flush() == 3 and sink.written == 3 and sink.refused == 0
        r.xadd("want", liquidation_fields(ODD))
        entries = [fields for _, fields in r.xrange("liquidations:stream")]
        assert entries[1] == r.xrange("want")[0][1]
        assert [from_fields(f) for f in entries] == batch
    finally:
        srv.stop()


def test_refused_tape_entries_are_counted_and_a_flushed_script_is_loaded_again():
    srv = RedisServer().start()
    try:
        sink, r = tape_sink(srv.url), srv.client()
        r.set("liquidations:stream", "someone else's string")  # XADD on it: WRONGTYPE, for each entry
        sink.add([LIQ] * 4)
        sink.flush()
        assert sink.refused == 4 and sink.buffer.dropped_by_kind == {"liquidation": 4} and sink.up
        r.delete("liquidations:stream")
        r.script_flush()  # a restarted Redis forgets the script: NOSCRIPT, then loaded and written
        sink.add([LIQ] * 2)
        sink.flush()
        assert r.xlen("liquidations:stream") == 2 and sink.written == 2 and sink.refused == 4
    finally:
        srv.stop()
