"""`liqcascade bench` measures TCP and TCP+CURVE like ipc, in the same run, and reports ratios to ipc."""
from __future__ import annotations

import pytest
import zmq

from liqcascade.bench import transport


@pytest.mark.timeout(120)
def test_tcp_and_curve_are_measured_against_ipc(tmp_path):
    res = transport.compare(str(tmp_path), 5_000, 20_000, 0.2, rounds=2)
    ipc = res["ipc"]
    assert res["rounds"] == 2 and ipc["events_per_s"] > 0 and ipc["3hop_latency_us"]["n"] == 4_000
    for kind in ("tcp", "curve"):
        r = res[kind]
        assert r["events_per_s"] > 0 and r["batched_events_per_s"] > 0, r
        assert r["3hop_latency_us"]["n"] == 4_000 and r["3hop_latency_us"]["p50"] > 0  # 10,000/s, 0.2 s, 2 rounds
        assert r["vs_ipc"]["events_per_s"] == round(r["events_per_s"] / ipc["events_per_s"], 3)
        assert r["vs_ipc"]["latency_p50"] == round(r["3hop_latency_us"]["p50"] / ipc["3hop_latency_us"]["p50"], 3)
    rows = transport.table_rows({"transport_compare": res})
    assert [row.split()[0] for row in rows] == ["ipc", "tcp", "tcp+curve"]
    assert "2 round(s)" in rows[0] and "x ipc)" in rows[1] and "3 hops p50" in rows[2]


def test_the_curve_runs_really_encrypt(tmp_path):
    """The CURVE options the bench sets make a socket pair that handshakes (a plain peer could not)."""
    keys = transport._keys("curve")
    assert keys is not None and transport._keys("tcp") is None
    ctx = zmq.Context()
    server = transport._secure(ctx.socket(zmq.PULL), keys, server=True)
    client = transport._secure(ctx.socket(zmq.PUSH), keys, server=False)
    plain = ctx.socket(zmq.PUSH)
    try:
        ep = transport._endpoint("tcp", str(tmp_path), "x")
        server.bind(ep)
        plain.connect(ep)
        client.connect(ep)
        plain.send(b"plain")
        client.send(b"curve")
        assert server.poll(5000) and server.recv() == b"curve"
        assert server.getsockopt(zmq.MECHANISM) == zmq.CURVE
        assert not server.poll(300)  # the plain peer's message never arrives (its handshake fails)
    finally:
        for s in (server, client, plain):
            s.close(linger=0)
        ctx.term()


def test_the_quick_comparison_runs_batched_only_and_says_so(tmp_path):
    res = transport.compare(str(tmp_path), 0, 10_000, 0.1)
    assert res["ipc"]["events_per_s"] == res["tcp"]["events_per_s"] == 0
    assert res["tcp"]["vs_ipc"]["events_per_s"] is None
    rows = transport.table_rows({"transport_compare": res})
    assert "one per message" not in "".join(rows) and all("batched by 64" in row for row in rows)
