from __future__ import annotations

import re

import pytest

from common.config import ConfigError, load_config


def test_defaults_and_endpoint_placeholders():
    cfg = load_config(env={})
    assert cfg.pipeline.shards == 2
    assert cfg.endpoint("analytics", 1) == "ipc:///tmp/liqcascade/analytics-1.ipc"
    assert cfg.endpoint("signals") == "ipc:///tmp/liqcascade/signals-in.ipc"


def test_file_then_env_then_cli_precedence(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('log_level = "DEBUG"\n[redis]\nurl = "redis://file:6379/1"\n[pipeline]\nshards = 4\n'
                    'analytics_endpoint = "tcp://10.0.0.5:556{shard}"\n'
                    '[security]\nallow_plain_tcp = true\n')  # plain TCP off loopback: refused unless asked for
    cfg = load_config(str(path), env={})
    assert (cfg.redis.url, cfg.pipeline.shards, cfg.log_level) == ("redis://file:6379/1", 4, "DEBUG")
    assert cfg.endpoint("analytics", 3) == "tcp://10.0.0.5:5563"
    env = {"REDIS_URL": "rediss://:secret@host:6380/2", "TRACKED_SYMBOLS": "BTCUSDT, ETHUSDT", "LOG_LEVEL": "WARNING"}
    cfg = load_config(str(path), env=env)
    assert cfg.redis.url == "rediss://:secret@host:6380/2"
    assert cfg.ingest.symbols == ("BTCUSDT", "ETHUSDT")
    assert cfg.log_level == "WARNING"
    cfg = load_config(str(path), {"pipeline": {"shards": 3}, "redis": {"url": None}}, env=env)
    assert cfg.pipeline.shards == 3 and cfg.redis.url == "rediss://:secret@host:6380/2"


def test_config_file_from_environment_variable(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[pipeline]\nshards = 5\n")
    assert load_config(env={"LIQCASCADE_CONFIG": str(path)}).pipeline.shards == 5


@pytest.mark.parametrize("text, message", [
    ("[pipeline]\nshard = 3\n", "unknown key(s) in [pipeline]: shard"),
    ("[pipelin]\nshards = 3\n", "unknown key(s) in [top level]: pipelin"),
    ("[pipeline]\nshards = \"many\"\n", "pipeline.shards: expected a number"),
    ("[pipeline]\nshards = 0\n", "at least 1"),
    ("[redis]\nenabled = \"perhaps\"\n", "redis.enabled: expected true/false"),
    ("[pipeline\n", "config file"),
])
def test_bad_config_is_a_clear_error(tmp_path, text, message):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(str(path), env={})


def test_missing_file_is_an_error():
    with pytest.raises(ConfigError, match="not found"):
        load_config("/nonexistent/liqcascade.toml", env={})


def test_config_is_frozen():
    cfg = load_config(env={})
    with pytest.raises(AttributeError):
        cfg.pipeline.shards = 9  # type: ignore[misc]
