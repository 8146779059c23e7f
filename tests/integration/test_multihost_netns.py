"""The documented three-host layout (deploy/multihost) on three network namespaces, CURVE on every TCP hop.

Host A: the simulator (Bybit protocol) and `liqcascade ingest bybit`. Host B: two analytics shards, signals,
the publisher and its Redis. Host C: `liqcascade tail` over ZMQ with an allowed key (signals and the
liquidation tape), and one with a key B does not allow. The link between A and B goes down for a few seconds
during the flow: the ingester's PUSH sockets hold what it sends meanwhile, so every liquidation it sent
reaches C, and the cascade is still detected.
"""
from __future__ import annotations

import re
import shutil
import threading
import time
from pathlib import Path

import orjson
import pytest

from liqcascade.sim.venues import sim_urls
from tests.curve_keys import generate
from tests.integration.netns_harness import ADDRESS, Hosts, host_env, unavailable
from tests.integration.pipeline_harness import ALERT_OR_HIGHER, REPO
from tests.polling import wait_until

pytestmark = [pytest.mark.netns, pytest.mark.timeout(150)]
OUTAGE_S = 3.0  # how long the A-B link is down: several TCP retransmissions, far below any staleness limit
SIM_PORT, REDIS_PORT = 9411, 6391  # inside the namespaces: nothing else listens there


@pytest.fixture(scope="module")
def hosts():
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is missing (make test installs it)")
    h = Hosts()
    yield h
    h.close()


def _keys(tmp: Path) -> Path:
    keys = tmp / "keys"
    for args in (("host-a",), ("host-b", False), ("host-c", False), ("intruder", False)):
        r = generate(keys, *args)
        assert r.returncode == 0, r.stderr
    allowed = keys / "allowed"
    allowed.mkdir()
    for name in ("host-a", "host-b", "host-c"):  # not the intruder's
        shutil.copy(keys / f"{name}.key", allowed)
    return keys


def _config(tmp: Path, host: str, keys: Path, client: str | None = None) -> Path:
    """deploy/multihost/host-<host>.toml with the namespaces' address, the test's keys and test settings."""
    text = (REPO / f"deploy/multihost/host-{host}.toml").read_text()
    text = text.replace("192.0.2.2", ADDRESS["b"]).replace("/etc/liqcascade/keys", str(keys))
    if client:
        text = text.replace(f"host-{host}.key_secret", f"{client}.key_secret")
    text = text.replace("[pipeline]\n", "[pipeline]\nheartbeat_s = 0.5\n")
    text = text.replace("redis://127.0.0.1:6379/0", f"redis://127.0.0.1:{REDIS_PORT}/0")
    text += (f'\n[ingest]\nurls = {{ bybit = "{sim_urls("127.0.0.1", SIM_PORT, ["bybit"])["bybit"]}" }}\n'
             'backoff_min_s = 0.05\n'
             f'backoff_max_s = 0.5\n[store]\ndata_dir = "{tmp / "data"}"\n')
    path = tmp / f"host-{host}{'-' + client if client else ''}.toml"
    path.write_text(text)
    return path


def _json_lines(out) -> list[dict]:
    return [orjson.loads(line) for line in list(out.lines) if line.startswith("{")]


def test_a_cascade_crosses_three_hosts_with_curve_and_survives_a_link_outage(hosts, tmp_path):
    keys = _keys(tmp_path)
    env = {h: host_env(_config(tmp_path, h, keys), tmp_path / f"ipc-{h}") for h in ("a", "b", "c")}
    intruder_env = host_env(_config(tmp_path, "c", keys, client="intruder"), tmp_path / "ipc-c")

    hosts.spawn("b", ["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "",
                      "--appendonly", "no"], env["b"])
    b = {name: hosts.liqcascade("b", args, env["b"]) for name, args in (
        ("analytics_0", ["analytics", "--shard", "0"]), ("analytics_1", ["analytics", "--shard", "1"]),
        ("signals", ["signals"]), ("publisher", ["publish"]))}
    sig_tail = hosts.liqcascade("c", ["tail", "--source", "zmq", "--json", "--level", "WATCH"], env["c"])[1]
    tape_tail = hosts.liqcascade("c", ["tail", "--source", "zmq", "--liquidations", "--json"], env["c"])[1]
    intruder = hosts.liqcascade("c", ["tail", "--source", "zmq", "--liquidations", "--json"], intruder_env)[1]
    wait_until(lambda: "signals: started" in b["signals"][1].text(), 30, what="signals started on B")
    # Both allowed consumers have their TCP connection to B's PUB up before the flow starts.
    pub_port = "5603"
    wait_until(lambda: hosts.run("b", ["ss", "-Htn", "state", "established", f"( sport = :{pub_port} )"])
               .count(ADDRESS["c"]) >= 2, 30, what="C's two subscribers connected to B")

    sim_out = hosts.liqcascade("a", ["exchange-sim", "--port", str(SIM_PORT), "--venues", "bybit", "--speed", "3",
                           "--rounds", "1"], env["a"])[1]
    ingest, ingest_out = hosts.liqcascade("a", ["ingest", "bybit"], env["a"])
    try:
        wait_until(lambda: _json_lines(tape_tail), 40, what="the first liquidation at C")
        hosts.cut("a")
        down_ns = time.time_ns()
        threading.Event().wait(OUTAGE_S)  # the outage itself, not a wait for a condition
        up_ns = time.time_ns()
        hosts.mend("a")

        def alert() -> dict | None:
            return next((s for s in _json_lines(sig_tail) if s.get("symbol") == "BTCUSDT"
                         and s.get("level") in ALERT_OR_HIGHER and s.get("direction") == "long"), None)
        found = wait_until(alert, 60, what="an ALERT+ for BTCUSDT long at C")
        assert 0.0 < found["probability"] <= 1.0
        # Liquidations received on A while its link was down reached C once it came back.
        wait_until(lambda: any(down_ns <= liq["ts_recv"] <= up_ns for liq in _json_lines(tape_tail)), 30,
                   what="liquidations of the outage at C")

        ingest.terminate()
        assert ingest.wait(8) == 0
        stopped = re.search(r"stopped; (\d+) events", ingest_out.text())
        assert stopped, ingest_out.text()[-3000:]
        sent = int(stopped.group(1))
        wait_until(lambda: len(_json_lines(tape_tail)) >= sent, 30,
                   what=f"all {sent} liquidations the ingester sent, at C")
        assert len(_json_lines(tape_tail)) == sent  # none lost, none doubled
        assert _json_lines(intruder) == []
        assert f"curve: refused a client from {ADDRESS['c']}" in b["signals"][1].text()
        assert int(hosts.run("b", ["redis-cli", "-p", str(REDIS_PORT), "llen", "cascade:signals:history"])) >= 1
        for name, (proc, out) in b.items():
            proc.terminate()
            assert proc.wait(8) == 0, out.text()[-3000:]
            if name.startswith("analytics"):
                assert re.search(r"stopping \(SIGTERM\); 0 gap\(s\)", out.text()), out.text()[-3000:]
    except AssertionError:
        for name, (_, out) in b.items():
            print(f"--- {name}\n{out.text()[-3000:]}")
        print(f"--- ingest\n{ingest_out.text()[-3000:]}\n--- sim\n{sim_out.text()[-2000:]}")
        raise
