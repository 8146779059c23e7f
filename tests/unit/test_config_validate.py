"""Whole-config validation at load: normalized spellings, and errors naming key, value and what is allowed."""
from __future__ import annotations

import json
import tomllib

import pytest
from click.testing import CliRunner

from common.config import ConfigError, load_config, masked
from common.config_validate import VENUES, mask_url, normalize_symbol
from ingest.exchanges import EXCHANGES
from liqcascade.cli import main


def test_venue_names_match_the_ingest_registry():
    assert set(VENUES) == set(EXCHANGES)


@pytest.mark.parametrize("text", ["BTCUSDT", "btcusdt", "BTC-USDT", "btc/usdt", "BTC_USDT", "BTC", " btc ",
                                  "BTC-USDT-SWAP", "BTC-USD-SWAP", "BTCUSD", "BTCUSDC"])
def test_usual_spellings_become_the_canonical_symbol(text):
    assert normalize_symbol(text) == "BTCUSDT"


def test_scaled_contract_becomes_the_coin():
    assert normalize_symbol("1000PEPEUSDT") == "PEPEUSDT"
    assert normalize_symbol("kPEPE") == normalize_symbol("PEPE-USDT-SWAP") == "PEPEUSDT"
    assert normalize_symbol("kas") == "KASUSDT"  # lowercase: not Hyperliquid's k prefix
    assert normalize_symbol("1INCHUSDT") == "1INCHUSDT"


@pytest.mark.parametrize("text", ["", "  ", "BTC USDT", "BTC-EUR", "USDT", "BTC-USDT-X-Y", "B$C", "123"])
def test_what_cannot_be_a_symbol_is_rejected(text):
    with pytest.raises(ConfigError, match="symbol"):
        normalize_symbol(text, "ingest.symbols[0]")


def test_tracked_symbols_normalized_deduplicated_and_empty_items_rejected():
    cfg = load_config(env={"TRACKED_SYMBOLS": "btcusdt,BTC-USDT,eth/usdt,SOL"})
    assert cfg.ingest.symbols == ("BTCUSDT", "ETHUSDT", "SOLUSDT")
    with pytest.raises(ConfigError, match=r"ingest.symbols\[1\] = ''"):
        load_config(env={"TRACKED_SYMBOLS": "BTCUSDT,,ETHUSDT"})
    assert load_config(env={}).ingest.symbols == ()  # none configured: every symbol


@pytest.mark.parametrize("toml, key", [
    ('log_level = "LOUD"', "log_level"),
    ('[analytics]\nwindows = ["0s"]', "analytics.windows[0]"),
    ("[analytics]\nwindows = []", "analytics.windows"),
    ('[analytics.weights]\nvelocty = 0.3', "analytics.weights"),
    ("[analytics]\nbaseline_s = -1", "analytics.baseline_s"),
    ("[analytics]\ncompleteness_weight = {throttled = 1.5}", "analytics.completeness_weight"),
    ("[analytics]\ncompleteness_weight = {partial = 0.5}", "analytics.completeness_weight"),
    ("[signals.enter]\nWATCH = 0.9\nALERT = 0.5", "signals.enter"),
    ("[signals]\nregime_vol_bounds = [0.3, 0.1]", "signals.regime_vol_bounds"),
    ("[redis]\nbatch = 0", "redis.batch"),
    ('[pipeline]\npub_endpoint = "http://x"', "pipeline.pub_endpoint"),
    ('[pipeline]\nanalytics_endpoint = "ipc://{ipcdir}/a"', "pipeline.analytics_endpoint"),
    ('[ingest]\nexchanges = ["kraken"]', "ingest.exchanges"),
    ("[ingest]\nexchanges = []", "ingest.exchanges"),
    ('[ingest.urls]\nbinance = "http://x"', "ingest.urls.binance"),
    ('[ingest.urls]\nkraken = "ws://x"', "ingest.urls"),
    ("[ingest]\nbackoff_min_s = 5.0\nbackoff_max_s = 1.0", "ingest.backoff_max_s"),
    ('[ingest]\nhyperliquid_users = ["0x12"]', "ingest.hyperliquid_users[0]"),
    ('[ingest]\nprice_symbol = "BTC USD"', "ingest.price_symbol"),
])
def test_each_bad_value_names_its_key(tmp_path, toml, key):
    path = tmp_path / "c.toml"
    path.write_text(toml + "\n")
    with pytest.raises(ConfigError) as info:
        load_config(str(path), env={})
    assert str(info.value).startswith(key + " = "), str(info.value)


def test_redis_urls_accepted():
    for url in ("redis://127.0.0.1:6379/0", "rediss://:secret@host:6380/2", "unix:///run/redis.sock",
                "redis://user:pw@host"):
        assert load_config(env={"REDIS_URL": url}).redis.url == url


def test_credentials_are_masked():
    assert mask_url("rediss://:secret@host:6380/2") == "rediss://:***@host:6380/2"
    assert mask_url("redis://user:pw@host/0") == "redis://user:***@host/0"
    assert mask_url("redis://host:6379/0") == "redis://host:6379/0"
    cfg = load_config(env={"REDIS_URL": "redis://:hunter2@host:6379/0"})
    assert masked(cfg)["redis"]["url"] == "redis://:***@host:6379/0"
    out = CliRunner().invoke(main, ["config"], env={"REDIS_URL": "redis://:hunter2@host:6379/0",
                                                    "LIQCASCADE_CONFIG": None}).output
    assert "hunter2" not in out and json.loads(out)["redis"]["url"] == "redis://:***@host:6379/0"


def test_notification_and_store_secrets_are_masked():
    cfg = load_config(env={"NOTIFY_URLS": "tgram://123456:BOTTOKEN/-100200,discord://99/WEBHOOKTOKEN",
                           "STORE_URL": "postgresql://liq:pgsecret@db/liq"})
    out = json.dumps(masked(cfg))
    assert "BOTTOKEN" not in out and "WEBHOOKTOKEN" not in out and "pgsecret" not in out
    assert masked(cfg)["notify"]["urls"] == ["tgram://***", "discord://***"]
    assert masked(cfg)["store"]["url"] == "postgresql://liq:***@db/liq"


def test_config_toml_round_trips(tmp_path):
    env = {"LIQCASCADE_CONFIG": None, "REDIS_URL": None, "LOG_LEVEL": None, "LIQCASCADE_IPC_DIR": None,
           "TRACKED_SYMBOLS": "eth-usdt,btc"}
    result = CliRunner().invoke(main, ["config", "--toml"], env=env)
    assert result.exit_code == 0, result.output
    tomllib.loads(result.output)
    path = tmp_path / "back.toml"
    path.write_text(result.output)
    first = CliRunner().invoke(main, ["config"], env=env).output
    again = CliRunner().invoke(main, ["--config", str(path), "config"], env={**env, "TRACKED_SYMBOLS": None})
    assert again.exit_code == 0, again.output
    assert json.loads(again.output) == json.loads(first)
    assert json.loads(first)["ingest"]["symbols"] == ["ETHUSDT", "BTCUSDT"]


def test_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and "liqcascade, version" in result.output
