"""Pre-rendered flows and recordings: the frames the simulator plays verbatim."""
from __future__ import annotations

import gzip
import itertools

import orjson

from liqcascade.sim import binance, bybit, schedule, timeline


def test_prerendered_bybit_flow_has_every_event_once_in_500_ms_batches_stamped_from_the_start():
    events = list(timeline.steady(2000.0, symbols=5, seconds=2.0, lead_s=1.0))
    pre = schedule.prerender([bybit], iter(events), speed=2.0)
    anchor = 1_800_000_000.0
    frames = pre.render(anchor)
    assert pre.events == sum(f.events for f in frames) == len(events) == 4000
    assert [f.at for f in frames] == sorted(f.at for f in frames)
    items = []
    for f in frames:
        doc = orjson.loads(f.text)
        assert doc["topic"] == f.topic and doc["ts"] == int(anchor * 1000) + int(f.at * 1000)
        assert all(anchor * 1000 + 500 <= item["T"] <= doc["ts"] for item in doc["data"])  # lead 1 s at speed 2
        items += doc["data"]
        dues = [g.at for g in frames if g.topic == f.topic]
        assert all(round((b - a) / bybit.BATCH_S, 6) == int(round((b - a) / bybit.BATCH_S)) for a, b in
                   itertools.pairwise(dues))  # each topic on its own 500 ms cadence
    assert len(items) == 4000
    assert sorted(float(i["v"]) for i in items) == sorted(round(ev.qty, 8) for _, ev in events)


def test_only_venues_with_one_text_for_all_and_no_throttle_are_prerendered():
    assert schedule.can_prerender([bybit], throttle=True)
    assert not schedule.can_prerender([binance], throttle=False)  # combined and raw streams differ


def test_recording_lines_give_verbatim_frames_at_their_spacing_and_skip_other_venues(tmp_path):
    lines = [{"ts_recv": 5_000_000_000, "exchange": "bybit", "raw": '{"a":1}'},
             {"ts_recv": 5_100_000_000, "exchange": "okx", "raw": "x"},
             {"ts_recv": 5_500_000_000, "exchange": "bybit", "raw": "not json at all"}]
    body = b"".join(orjson.dumps(d) + b"\n" for d in lines) + b"garbage\n"
    for path, data in ((tmp_path / "r.jsonl", body), (tmp_path / "r.gz", gzip.compress(body))):
        path.write_bytes(data)
        frames = list(schedule.from_recording(str(path), ["bybit"], speed=0.5))
        assert [(f.at, f.venue, f.topic, f.text) for f in frames] == [
            (0.0, "bybit", None, '{"a":1}'), (1.0, "bybit", None, "not json at all")]
