"""The config's sections: one frozen dataclass per stage, with its defaults and why they are what they are.

`common.config` loads them (defaults < TOML file < environment < CLI options) and re-exports them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

WINDOWS = ("100ms", "500ms", "2s", "10s", "30s", "60s", "300s")


@dataclass(frozen=True)
class PipelineConfig:
    """Socket endpoints. `{ipc_dir}` and `{shard}` are substituted; any endpoint may be tcp://host:port."""

    ipc_dir: str = "/tmp/liqcascade"
    shards: int = 2
    analytics_endpoint: str = "ipc://{ipc_dir}/analytics-{shard}.ipc"
    signals_endpoint: str = "ipc://{ipc_dir}/signals-in.ipc"
    publisher_endpoint: str = "ipc://{ipc_dir}/publisher-in.ipc"
    pub_endpoint: str = "ipc://{ipc_dir}/pub.ipc"
    hwm: int = 100_000
    heartbeat_s: float = 1.0
    max_message_bytes: int = 4 << 20  # ZMQ_MAXMSGSIZE of every input socket (0 = no limit)


@dataclass(frozen=True)
class RedisConfig:
    url: str = "redis://127.0.0.1:6379/0"
    enabled: bool = True
    history_len: int = 1000
    stream_maxlen: int = 100_000
    buffer: int = 50_000
    batch: int = 256
    backoff_max_s: float = 5.0
    # TTL of the per-symbol keys (cascade:probability:{symbol}, velocity:{symbol}:current), refreshed by
    # every heartbeat and metrics snapshot: a symbol that went quiet, expired or was refused leaves no key.
    key_ttl_s: float = 120.0
    liquidations_maxlen: int = 100_000  # `liquidations:stream`, the tape (approximate MAXLEN); 0 = not written


@dataclass(frozen=True)
class IngestConfig:
    exchanges: tuple[str, ...] = ("binance", "bybit", "okx")
    symbols: tuple[str, ...] = ()  # canonical symbols to keep; empty = every symbol the venue sends
    price_symbol: str = "BTCUSDT"
    urls: dict[str, str] = field(default_factory=dict)  # venue -> base URL override (simulator, testnet)
    backoff_min_s: float = 0.2
    backoff_max_s: float = 30.0
    batch_max: int = 256
    hyperliquid_users: tuple[str, ...] = ("0x2e3d94f0562703b25c83308a05046ddaf9a8dd14",)
    hyperliquid_fills_dir: str = ""
    okx_ctval_cache: str = "~/.cache/liqcascade/okx_instruments.json"
    stale_after_s: float = 0.0  # stale-feed watchdog override in seconds; 0 = the venue's STALE_AFTER_S
    # Exchange time is trusted only within [receive - ts_past_s, receive + ts_future_s]; outside it the
    # event keeps its receive time and is counted (a frame dated 2100 must not make a symbol "quiet").
    ts_past_s: float = 3600.0
    ts_future_s: float = 60.0
    state_log_s: float = 60.0  # each ingester logs one line with its venue's state this often (0 = never)
    liquidation_tape: bool = True  # relay every liquidation as `liq.<exchange>.<SYMBOL>` (PUB, Redis stream)
    # Market context (ingest/context_merge.py): each venue's merged context of a symbol goes to analytics at
    # most this often. Binance's open interest is polled over REST, one symbol per `binance_oi_every_s`
    # (weight 1 each: 4/s is 240 of the 2400 weight a minute an IP may use).
    context_every_s: float = 1.0
    binance_oi_every_s: float = 0.25


@dataclass(frozen=True)
class AnalyticsConfig:
    windows: tuple[str, ...] = WINDOWS
    baseline_s: float = 3600.0
    idle_expire_s: float = 900.0
    snapshot_every_s: float = 1.0
    min_emit_interval_s: float = 0.05
    whale_usd: dict[str, float] = field(default_factory=lambda: {"BTCUSDT": 1_000_000.0, "ETHUSDT": 500_000.0})
    whale_usd_default: float = 250_000.0
    floor_usd_per_s: dict[str, float] = field(default_factory=lambda: {"BTCUSDT": 50_000.0, "ETHUSDT": 25_000.0})
    floor_usd_per_s_default: float = 10_000.0
    weights: dict[str, float] = field(default_factory=lambda: {
        "velocity": 0.35, "acceleration": 0.15, "jerk": 0.05,
        "concentration": 0.10, "correlation": 0.15, "one_sided": 0.20,
    })
    # A venue's share in venue coverage (confidence) by what its feed shows (common.schema.COMPLETENESS_LEVELS)
    completeness_weight: dict[str, float] = field(default_factory=lambda: {
        "complete": 1.0, "throttled": 0.6, "sampled": 0.4, "unknown": 0.5})
    status_stale_s: float = 10.0  # no FeedStatus from a venue for this long: its feed is stale
    frame_stale_s: float = 120.0  # no frame at all on a connected venue for this long: stale
    # Dollar gates (analytics/gates.py): ALERT, CRITICAL, EXTREME need this much USD of the named side
    # over 10 s (x0.35 over 2 s, x1.2 over 60 s). Per symbol, e.g. {"BTCUSDT": [3e6, 7.5e6, 15e6]}; else
    # the symbol's size tier (max(1 h baseline, floor), rounded to 1-2.5-5) times these seconds.
    usd_gates: dict[str, tuple[float, ...]] = field(default_factory=dict)
    usd_gate_seconds: tuple[float, ...] = (50.0, 120.0, 200.0)
    # A scoring window opens a gate only while its liquidations form a crowd: an effective count (inverse
    # Herfindahl of their USD) of at least this. A 2 s gate is below a whale's size, so one large print
    # could fill it alone (README "A gate needs a crowd in its own window"); hand-set, 1 turns it off.
    gate_min_n_eff: float = 2.0
    # Events/s every timed feed of a symbol must read before the throttle timing counts (two saturated feeds ticking
    # like one dense clock; each is then read at its own rate); hand-set. Also the bound of any censored reading
    # (a full feed's occupancy alone says 2.6x at most, `gates.full_feed_reading`).
    saturated_ratio: float = 8.0
    # Market context (analytics/market_context.py): how much an open-interest drop beside liquidation flow
    # raises risk and confidence (hand-set; 0 turns the confirmation off). It never opens a dollar gate.
    oi_weight: float = 0.3
    # est_usd (analytics/est_usd.py): half-life of the live calibration of throttled venues' visible fraction
    est_half_life_s: float = 600.0
    # ...and while two throttled feeds are saturated, the timing of the events they let through tells their
    # hidden rate (analytics/throttle.py), read this many standard errors low. 0, the point estimate: the
    # guard against a sparse flow's lucky spacings is that two feeds must both tick at `saturated_ratio` or
    # more; one standard error low read half the hidden flow and cost throttled-only cascades ~2 s on train
    # (README "Throttle timing").
    throttle_timing_z: float = 0.0
    # Fitted factor weights (common/calibration.py): "builtin" = the file shipped with the package, a path,
    # or "" for the hand-set `weights` above.
    calibration: str = "builtin"
    max_symbols: int = 5000  # active symbols per shard (~52 KB each); liquidations of new ones beyond: refused
    warmup_s: float = 120.0  # snapshots of a fresh shard are marked warming this long (2x the 60 s window)


@dataclass(frozen=True)
class SignalsConfig:
    enter: dict[str, float] = field(default_factory=lambda: {
        "WATCH": 0.30, "ALERT": 0.50, "CRITICAL": 0.70, "EXTREME": 0.85})
    exit_gap: float = 0.08
    min_dwell_s: float = 5.0
    cooldown_s: float = 30.0
    heartbeat_s: float = 10.0
    market_min_symbols: int = 3
    regime_multipliers: dict[str, float] = field(default_factory=lambda: {
        "DORMANT": 0.5, "LOW": 0.8, "NORMAL": 1.0, "ELEVATED": 1.4, "HIGH": 1.9, "EXTREME": 2.5})
    price_stale_s: float = 60.0
    # Regime bands on the composite annualized BTC realized vol (0.30 = 30 %/yr): DORMANT below the
    # first bound, EXTREME at or above the last; a move across a bound needs it crossed by the
    # hysteresis fraction, so a vol hovering on a bound does not flap.
    regime_vol_bounds: tuple[float, ...] = (0.15, 0.30, 0.60, 1.00, 1.60)
    regime_hysteresis: float = 0.10
    # Price-move adjustment: a move of `price_move_full_bps` over `price_move_window_s` multiplies the
    # cascade odds by `price_move_max` when it reinforces the liquidated side (divides when it opposes).
    price_move_window_s: float = 60.0
    price_move_full_bps: float = 50.0
    price_move_max: float = 1.5
    unknown_regime_confidence: float = 0.7  # confidence factor without a usable price feed
    degraded_venue_confidence: float = 0.85  # confidence factor per stale/disconnected venue
    feed_stale_s: float = 15.0  # a venue whose last FeedStatus is older counts as stale
    stale_after_s: float = 10.0  # a symbol without snapshots this long decays to NONE
    alert_min_events: int = 3  # whale guard: ALERT+ needs this many liquidations in the last 10 s
    alert_min_n_eff: float = 1.5  # ...and an effective count (inverse Herfindahl) not "mostly one liquidation"
    alert_confirm_s: float = 2.0  # entering ALERT+ from below needs the evidence to hold this long
    # ...a wait that shrinks linearly with the named side's USD above the ALERT gate, to none at this multiple
    alert_proven_margin: float = 1.5
    # Probability map logit(p) = a + b·logit(risk), fitted with the weights (common/calibration.py):
    # "builtin", a path, or "" for the identity.
    calibration: str = "builtin"
    restart_grace_s: float = 5.0  # no levels restored from Redis: changes this long after start go out as states


@dataclass(frozen=True)
class StoreConfig:
    """The history store (`liqcascade store`, `history`, `import`): `url` is `duckdb:///path` or `postgresql://...`;
    empty = an embedded DuckDB file `history.duckdb` under `data_dir` ($STORE_URL overrides)."""

    url: str = ""
    enabled: bool = True
    data_dir: str = "~/.local/share/liqcascade"
    retention_days: float = 90.0  # rows older than this are deleted (whole day partitions on PostgreSQL); 0 = keep
    buffer: int = 200_000  # rows held while the database is down; past it the oldest are dropped (counted)
    batch: int = 20_000  # rows per write
    flush_s: float = 1.0  # write at least this often (DuckDB holds its file lock only while writing)
    backoff_max_s: float = 5.0
    partitions_ahead_days: int = 2  # PostgreSQL: day partitions created ahead of time


@dataclass(frozen=True)
class NotifyDestination:
    """One Apprise URL and what it wants: signals at or above `min_level` (and the step back to NONE
    that resolves them) for `symbols` (empty: all, MARKET included), `direction` ("" both, "long",
    "short"), at least `min_usd` liquidated on the symbol in the last 60 s; single liquidations of at
    least `liquidation_min_usd[symbol]` (or `liquidation_min_usd_default`; 0 = off)."""

    url: str = ""
    min_level: str = "ALERT"
    symbols: tuple[str, ...] = ()
    direction: str = ""
    min_usd: float = 0.0
    liquidation_min_usd: dict[str, float] = field(default_factory=dict)
    liquidation_min_usd_default: float = 0.0


@dataclass(frozen=True)
class NotifyConfig:
    """`liqcascade notify`: `urls` ($NOTIFY_URLS, comma-separated) get the default rules; `destinations`
    carry their own. Delivery: a bounded queue, a token bucket (`rate_per_min`, `burst`) and retries
    with capped backoff (honoring a 429's Retry-After) per destination."""

    urls: tuple[str, ...] = ()
    destinations: tuple[NotifyDestination, ...] = ()
    repeat_interval_s: float = 600.0  # the same level of a symbol is not sent again within this
    queue: int = 100
    rate_per_min: float = 20.0
    burst: int = 5
    retries: int = 5
    backoff_max_s: float = 60.0
    timeout_s: float = 10.0


@dataclass(frozen=True)
class DashboardConfig:
    """`liqcascade dashboard`: the web page, JSON/SSE endpoints, /metrics, /livez and /readyz."""

    host: str = "127.0.0.1"  # loopback unless the user says otherwise
    port: int = 8080
    tape_min_usd: float = 10_000.0  # liquidations at or above this go to the live tape and the price markers
    signals_kept: int = 200  # signal timeline length
    push_every_s: float = 0.5  # SSE update cadence: coalesces a cascade's thousands of events per second


@dataclass(frozen=True)
class SecurityConfig:
    """CURVE (encryption + client authentication) on every tcp:// socket; ipc sockets rely on the private ipc_dir.

    Files are zmq certificates as `liqcascade keys generate DIR` writes them. A binding process (analytics,
    signals, publisher) needs `server_key` and `allowed_clients`; a connecting one (ingest, consumers) needs
    `server_public_key` and `client_key`; a host that does both (analytics binds, and connects to signals)
    names all four. Each host names only the files it holds (deploy/multihost/host-*.toml).
    """

    curve: bool = False
    server_key: str = ""  # the server's secret certificate (server.key_secret): binding side
    allowed_clients: tuple[str, ...] = ()  # public certificates (files, or directories of *.key) allowed in
    server_public_key: str = ""  # the server's public certificate (server.key): connecting side
    client_key: str = ""  # this host's client secret certificate (client.key_secret): connecting side
    # A tcp:// endpoint on a non-loopback address without CURVE is refused at load unless this says otherwise
    # (anyone who can reach the port could read the feed or inject liquidations).
    allow_plain_tcp: bool = False


@dataclass(frozen=True)
class Config:
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    redis: RedisConfig = field(default_factory=RedisConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    analytics: AnalyticsConfig = field(default_factory=AnalyticsConfig)
    signals: SignalsConfig = field(default_factory=SignalsConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    dashboard: DashboardConfig = field(default_factory=DashboardConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    log_level: str = "INFO"

    def endpoint(self, name: str, shard: int = 0) -> str:
        """Resolve `pipeline.<name>_endpoint` with its placeholders."""
        template = getattr(self.pipeline, f"{name}_endpoint")
        return template.format(ipc_dir=self.pipeline.ipc_dir, shard=shard)
