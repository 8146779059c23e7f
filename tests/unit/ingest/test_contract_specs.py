"""Contract sizes for Gate and BitMEX: the simulator/offline path never fetches, a failed fetch falls back to the
bundled table, a fetched table overlays it, and the parsers use what startup loaded."""
from __future__ import annotations

import http.server
import logging
import threading

import orjson
import pytest

from common.config import load_config
from ingest import contract_specs
from ingest.exchanges import bitmex, gate
from ingest.venue_setup import prepare


@pytest.fixture(autouse=True)
def restore_tables():
    yield
    gate.set_contracts(contract_specs.bundled("gate"))
    bitmex.set_contracts(contract_specs.bundled("bitmex"))


@pytest.mark.parametrize(("venue", "url"), [(gate, "ws://127.0.0.1:9100/v4/ws/usdt"),
                                            (bitmex, "ws://127.0.0.1:9100/realtime")])
def test_against_the_simulator_startup_uses_the_bundled_table_and_never_fetches(venue, url, monkeypatch, caplog):
    def no_internet(*a, **kw):
        raise AssertionError("fetched contract sizes during a simulator run")
    monkeypatch.setattr(contract_specs.urllib.request, "urlopen", no_internet)
    venue.set_contracts({})
    with caplog.at_level(logging.INFO):
        prepare(venue, load_config(overrides={"ingest": {"urls": {venue.NAME: url}}}, env={}))
    assert venue._contracts == contract_specs.bundled(venue.NAME)
    assert "no fetch" in caplog.text


def test_unreachable_endpoint_falls_back_to_the_bundled_table(caplog):
    with caplog.at_level(logging.WARNING):
        table = contract_specs.fetch("gate", "http://127.0.0.1:9/nothing", gate.contract_rows, timeout=1.0)
    assert table == contract_specs.bundled("gate")
    assert "using the bundled table" in caplog.text


def test_fetched_rows_overlay_the_bundled_table():
    body = orjson.dumps([{"name": "DOGE_USDT", "quanto_multiplier": "10"},
                         {"name": "BTC_USDT", "quanto_multiplier": "0.0001"}])

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.handle_request, daemon=True).start()
    try:
        table = contract_specs.fetch("gate", f"http://127.0.0.1:{server.server_port}/c", gate.contract_rows)
    finally:
        server.server_close()
    assert table["DOGE_USDT"] == contract_specs.Spec(10.0)
    assert table["ETH_USDT"] == contract_specs.bundled("gate")["ETH_USDT"]


@pytest.mark.parametrize("bad", [{"size": "0"}, {"size": "nan"}, {"size": "1", "kind": "weird"}])
def test_a_bad_size_or_kind_is_refused(bad):
    with pytest.raises(ValueError):
        contract_specs.spec(bad["size"], bad.get("kind", "linear"))
