"""One frozen config per process: defaults < TOML file < environment < CLI options.

Unknown keys are an error, so a typo never silently falls back to a default.
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from collections.abc import Mapping
from typing import Any

import click

from common.config_sections import (  # re-exported: stages import their section from here
    WINDOWS,
    AnalyticsConfig,
    Config,
    DashboardConfig,
    IngestConfig,
    NotifyConfig,
    NotifyDestination,
    PipelineConfig,
    RedisConfig,
    SecurityConfig,
    SignalsConfig,
    StoreConfig,
)
from common.config_validate import ConfigError, mask_url, validate
from common.logs import setup_logging

__all__ = [
    "WINDOWS", "AnalyticsConfig", "Config", "ConfigError", "DashboardConfig", "IngestConfig", "NotifyConfig",
    "NotifyDestination", "PipelineConfig", "RedisConfig", "SecurityConfig", "SignalsConfig", "StoreConfig",
    "get_config", "load_config", "mask_url", "masked", "to_mapping",
]


def _coerce(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a table, got {value!r}")
        return _build(tp, value, where)
    if origin is tuple:
        if isinstance(value, str):  # "a,b" from the environment; an empty item is kept (and rejected later)
            value = [v.strip() for v in value.split(",")] if value.strip() else []
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        (item_tp, _) = typing.get_args(tp)
        return tuple(_coerce(item_tp, v, f"{where}[]") for v in value)
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a table, got {value!r}")
        _, val_tp = typing.get_args(tp)
        return {str(k): _coerce(val_tp, v, f"{where}.{k}") for k, v in value.items()}
    if tp is bool:
        if isinstance(value, str):
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true/false, got {value!r}")
        return value
    if tp in (int, float):
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        try:
            return tp(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a number, got {value!r}") from None
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{where}: unsupported type {tp}")  # pragma: no cover


def _build(cls: type, data: Mapping[str, Any], where: str) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"unknown key(s) in [{where or 'top level'}]: {', '.join(unknown)}; "
                          f"known: {', '.join(sorted(known))}")
    kwargs = {k: _coerce(hints[k], v, f"{where}.{k}" if where else k) for k, v in data.items()}
    return cls(**kwargs)


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _env_overrides(env: Mapping[str, str]) -> dict[str, Any]:
    """The variables users already know, mapped onto config keys."""
    over: dict[str, Any] = {}
    if env.get("REDIS_URL"):
        over.setdefault("redis", {})["url"] = env["REDIS_URL"]
    if env.get("TRACKED_SYMBOLS"):
        over.setdefault("ingest", {})["symbols"] = env["TRACKED_SYMBOLS"]
    if env.get("STORE_URL"):
        over.setdefault("store", {})["url"] = env["STORE_URL"]
    if env.get("LOG_LEVEL"):
        over["log_level"] = env["LOG_LEVEL"]
    if env.get("NOTIFY_URLS"):
        over.setdefault("notify", {})["urls"] = env["NOTIFY_URLS"]
    if env.get("LIQCASCADE_IPC_DIR"):
        over.setdefault("pipeline", {})["ipc_dir"] = env["LIQCASCADE_IPC_DIR"]
    return over


def load_config(path: str | None = None, overrides: Mapping[str, Any] | None = None,
                env: Mapping[str, str] | None = None) -> Config:
    """Build the config: defaults, then the TOML file (`path` or $LIQCASCADE_CONFIG), env, overrides.

    `overrides` is a nested mapping like {"pipeline": {"shards": 3}}; None values are ignored so
    CLI options that were not given do not override anything.
    """
    env = os.environ if env is None else env
    path = path or env.get("LIQCASCADE_CONFIG") or None
    data: dict[str, Any] = {}
    if path:
        try:
            with open(os.path.expanduser(path), "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path}: {exc}") from None
    data = _merge(data, _env_overrides(env))
    data = _merge(data, _drop_none(overrides or {}))
    return validate(_build(Config, data, ""), Config())


def _drop_none(d: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, Mapping):
            v = _drop_none(v)
            if v:
                out[k] = v
        elif v is not None:
            out[k] = v
    return out


def to_mapping(cfg: Any) -> Any:
    """Plain nested dict/list form (for `liqcascade config` and for child processes)."""
    if dataclasses.is_dataclass(cfg):
        return {f.name: to_mapping(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    if isinstance(cfg, tuple):
        return list(cfg)
    if isinstance(cfg, dict):
        return {k: to_mapping(v) for k, v in cfg.items()}
    return cfg


class ConfigProblem(click.ClickException):
    """A config error on the command line: `Error: config: <key> = <value>: <allowed>`, exit status 2."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(f"config: {message}")


def masked(cfg: Config) -> dict[str, Any]:
    """to_mapping() with credentials masked: what `liqcascade config` prints.

    Redis and store URLs lose their password. A notification URL carries its secret in the path
    (`tgram://BOT_TOKEN/CHAT`, `discord://ID/TOKEN`), so only its scheme is shown.
    """
    out = to_mapping(cfg)
    out["redis"]["url"] = mask_url(out["redis"]["url"])
    out["store"]["url"] = mask_url(out["store"]["url"])
    out["notify"]["urls"] = [_scheme_only(u) for u in out["notify"]["urls"]]
    for d in out["notify"]["destinations"]:
        d["url"] = _scheme_only(d["url"])
    return out


def _scheme_only(url: str) -> str:
    scheme, sep, _ = url.partition("://")
    return f"{scheme}://***" if sep else "***"


def get_config(ctx: click.Context, overrides: Mapping[str, Any] | None = None, process: str = "") -> Config:
    """Load the config for a subcommand (root options `--config`, `--log-level`) and set up logging.

    Every process and tool calls this, so no stage needs the CLI package; config errors exit with status 2.
    """
    root = ctx.find_root().obj or {}
    over = dict(overrides or {})
    if root.get("log_level"):
        over["log_level"] = root["log_level"]
    try:
        cfg = load_config(root.get("config_path"), over)
    except ConfigError as exc:
        raise ConfigProblem(str(exc)) from None
    setup_logging(cfg.log_level, process)
    return cfg
