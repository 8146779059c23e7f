"""The demo cascade through `liqcascade up` with NOTIFY_URLS: a short thread at local webhooks.

The simulator plays one round of the demo (`exchange-sim --rounds 1`: calm, then the BTCUSDT long
cascade) and then stops, so the episode can end: in the endless `up --demo` the regime stays EXTREME and
the next round starts before BTCUSDT steps back to NONE, so its episode never resolves there.
"""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from liqcascade.sim.venues import sim_urls
from tests.integration.http_sinks import Sink
from tests.integration.pipeline_harness import REPO, OutputCollector, child_env, terminate_and_wait, write_config
from tests.polling import wait_until
from tests.redis_server import free_port

pytestmark = pytest.mark.timeout(240)
LEVEL_TITLE = re.compile(r"(WATCH|ALERT|CRITICAL|EXTREME) BTCUSDT: longs liquidated")
VENUES = "binance,bybit,okx,hyperliquid"


def titles(sink: Sink) -> list[str]:
    return [p["title"] for _, p in sink.delivered()]


def btc_thread(sink: Sink) -> list[dict]:
    return [p for _, p in sink.delivered() if "BTCUSDT" in p["title"]]


def resolved(sink: Sink) -> bool:
    return any(p["title"].startswith("✅ Resolved BTCUSDT") for p in btc_thread(sink))


def test_demo_cascade_is_one_thread_per_destination_despite_a_429_and_a_dead_one(tmp_path):
    ok, limited, dead = Sink(), Sink(answers=(429,), retry_after="1"), Sink(hang=True)
    port = free_port()
    # No Redis: the notifier works from ZMQ alone. `ok` also wants WATCH, so its thread shows an escalation.
    config = write_config(tmp_path, "redis://127.0.0.1:1/0", urls=sim_urls("127.0.0.1", port, VENUES.split(",")))
    with open(config, "a") as fh:
        fh.write(f'[notify]\ntimeout_s = 600\n[[notify.destinations]]\nurl = "{ok.url}"\nmin_level = "WATCH"\n')
    env = dict(child_env(config), NOTIFY_URLS=",".join(s.url for s in (limited, dead)))
    proc = subprocess.Popen([sys.executable, "-m", "liqcascade", "up", "--exchanges", VENUES, "--no-tail"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = OutputCollector(proc)
    sim = None
    try:
        # The round starts when the simulator does: first let every process come up (ingesters retry).
        wait_until(lambda: out.text().count(": started") >= 4 + 2 + 1 + 1, 60, what="the pipeline up")
        sim = subprocess.Popen([sys.executable, "-m", "liqcascade", "exchange-sim", "--port", str(port), "--venues",
                                VENUES, "--speed", "3", "--rounds", "1"], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: resolved(ok) and resolved(limited), 150, interval=0.1,
                       what="the BTCUSDT thread and its resolved message at both live destinations")
        except AssertionError:
            raise AssertionError(f"titles {titles(ok)}; output:\n{out.text()[-5000:]}") from None
        dead_hung = len(dead.requests)
        took = terminate_and_wait(proc)
    finally:
        for s in (ok, limited, dead):
            s.close()
        for p in (proc, sim):
            if p is not None and p.poll() is None:
                p.kill()

    episode = btc_thread(ok)
    opening, *escalations, end = episode
    assert escalations and end["title"].startswith("✅ Resolved"), [p["title"] for p in episode]
    assert LEVEL_TITLE.match(opening["title"].split(" ", 1)[1]), opening["title"]
    assert all("(up from " in p["title"] for p in escalations), [p["title"] for p in episode]
    levels = [LEVEL_TITLE.search(p["title"]).group(1) for p in [opening, *escalations]]
    assert len(set(levels)) == len(levels)  # no level twice, no de-escalation message
    for p in (opening, *escalations):
        body = p["message"]
        assert re.search(r"\$[\d.]+[kMB]? in the last 10 s, \$[\d.]+[kMB]? in the last 60 s", body), body
        assert "Venues: " in body and "Binance" in body
        assert re.search(r"Regime \w+, probability \d+%, confidence \d+%", body), body
        assert "cascade probability" in body and "long side liquidated" in body  # the explanation sentence
        assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", body), body
    assert re.search(r"Peak (ALERT|CRITICAL|EXTREME) .*, lasted (\d+m )?\d+s, \$[\d.]+[kMB] liquidated in the "
                     r"episode", end["message"]), end["message"]
    assert f"Peak {levels[-1]}" in end["message"]

    # The 429 destination: refused first, then everything, no earlier than its Retry-After.
    assert limited.received[0][1] == 429
    assert limited.delivered()[0][0] - limited.received[0][0] >= 0.95
    assert [p["title"] for p in btc_thread(limited)] == [
        p["title"].replace(" (up from WATCH)", "") for p in episode if not p["title"].startswith("👀")]
    # The dead destination got the first message and never answered; the others did not wait for it.
    assert dead.requests and dead_hung == 1
    assert ok.delivered()[0][0] - dead.requests[0] < 2.0
    assert took < 6.0
    assert "notify stopped (rc=0)" in re.sub(r"\s+", " ", out.text()) or re.search(
        r"notify\s+stopped \(rc=0\)", out.text()), out.text()[-3000:]
