"""`exchange-sim --recording`: recorded raw frames go out verbatim, and the real ingester makes of them
exactly the liquidations `liqcascade parse` makes of the same recording."""
from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from common.schema import Liquidation
from ingest.commands import liquidation_dict, parse_command
from ingest.recording import RecordingWriter
from liqcascade.sim import schedule
from tests.integration.sim_harness import Rig

pytestmark = pytest.mark.timeout(30)
DATA = Path(__file__).parents[1] / "data"
T0 = 1_764_000_000_000_000_000  # recorded ts_recv of the first frame, ns


def _variants(venue: str) -> list[str]:
    """Real recorded frames of `venue` (tests/data), a control frame among them, made distinct by quantity."""
    if venue == "bybit":
        doc = orjson.loads((DATA / "bybit/all_liquidation_rose.json").read_bytes())
        frames = []
        for i in range(5):
            doc["data"][0].update(T=doc["data"][0]["T"] + i, v=str(20000 + i))
            frames.append(orjson.dumps(doc).decode())
        return [*frames[:2], (DATA / "bybit/pong.json").read_text().strip(), *frames[2:]]
    frames = [(DATA / f"binance/force_order_btc_{k}.json").read_text().strip() for k in (1, 2)]
    doc = orjson.loads(frames[0])
    for i in range(3):
        doc["o"].update(T=doc["o"]["T"] + i + 1, q=f"0.{300 + i}", l=f"0.{300 + i}", z=f"0.{300 + i}")
        frames.append(orjson.dumps(doc).decode())
    return [*frames, (DATA / "binance/subscribe_ack.json").read_text().strip()]


def _record(tmp_path: Path, venue: str) -> Path:
    clock = iter(range(T0, T0 + 10**12, 10**6))
    with RecordingWriter(tmp_path / "rec", venue, clock=lambda: next(clock)) as writer:
        for i, frame in enumerate(_variants(venue)):
            writer.write(T0 + i * 40_000_000, frame)  # 40 ms apart
        path = writer.path
    assert path is not None
    return path


@pytest.mark.parametrize("venue", ["bybit", "binance"])
def test_recording_replays_verbatim_and_ingests_as_parse_reads_it(tmp_path, venue):
    path = _record(tmp_path, venue)
    parsed = CliRunner().invoke(parse_command, [venue, str(path), "--strict"])
    assert parsed.exit_code == 0, parsed.output
    want = [orjson.loads(line) for line in parsed.output.splitlines()]
    assert len(want) == 5  # the control frame gives none

    # The recording's exchange times are years old: accept them, as a replay of history must
    # (live, an exchange time more than ingest.ts_past_s old is replaced by the receive time).
    rig = Rig(tmp_path, venue, ingest={"ts_past_s": 20 * 365 * 86400.0}).start()
    try:
        frames = list(schedule.from_recording(str(path), [venue], speed=2.0))
        assert [f.at for f in frames] == [i * 0.02 for i in range(len(frames))]
        started = time.monotonic()
        rig.sim.call(schedule.play(rig.sim.server, frames, time.monotonic()))
        assert time.monotonic() - started >= frames[-1].at  # at the recorded spacing, scaled by speed
        rig.until(lambda: len(rig.sink.liqs) >= len(want), what="the recorded liquidations at the sink")
        got = [liquidation_dict(ev) for ev in rig.sink.liqs if isinstance(ev, Liquidation)]
    finally:
        assert rig.stop() == 0
    key = lambda d: orjson.dumps(d, option=orjson.OPT_SORT_KEYS)  # noqa: E731
    assert sorted(map(key, got)) == sorted(map(key, want))
    assert rig.sim.server.stats["prebuilt_frames"] == len(frames)
