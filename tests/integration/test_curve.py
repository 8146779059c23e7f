"""CURVE on tcp:// sockets: an allowed client gets the data, any other key gets nothing and is logged."""
from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
import threading
import time

import pytest
import zmq
import zmq.auth

from common import curve
from common.config import ConfigError, load_config
from common.schema import PriceTick
from common.sockets import make_socket
from common.wire import decode, encode
from tests.curve_keys import REPO, generate, make_keys, security_toml
from tests.integration.pipeline_harness import OutputCollector, child_env
from tests.polling import wait_until
from tests.redis_server import free_port


def _config(tmp_path, client: str = "client", extra: str = ""):
    keys = tmp_path / "keys"
    if not keys.exists():
        make_keys(keys)
    path = tmp_path / f"{client}.toml"
    path.write_text(security_toml(keys, client) + extra)
    return load_config(str(path), env={})


def _tick(n: int) -> list[bytes]:
    now = time.time_ns()
    return encode(b"price.BTCUSDT", "test", n, [PriceTick("binance", "BTCUSDT", 60_000.0 + n, 0.5, now, now)])


class _Received:
    """Counts the messages a socket gets, in a thread (SUB or PULL)."""

    def __init__(self, sock: zmq.Socket) -> None:
        self.sock, self.n, self.stop = sock, 0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            if self.sock.poll(20):
                decode(self.sock.recv_multipart())
                self.n += 1

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)


def test_an_allowed_key_receives_and_an_unknown_key_is_refused_and_logged(tmp_path, caplog):
    server_cfg, intruder_cfg = _config(tmp_path), _config(tmp_path, "intruder")
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    ctx = zmq.Context()
    curve.start_authenticator(ctx, server_cfg.security)
    caplog.set_level(logging.WARNING, logger="common.curve")
    pub = make_socket(ctx, zmq.PUB, endpoint, bind=True, hwm=1000, security=server_cfg.security)
    good = make_socket(ctx, zmq.SUB, endpoint, bind=False, hwm=1000, security=server_cfg.security)
    bad = make_socket(ctx, zmq.SUB, endpoint, bind=False, hwm=1000, security=intruder_cfg.security)
    got_good, got_bad = _Received(good), _Received(bad)
    try:
        n = 0

        def delivered(want: int) -> bool:
            nonlocal n
            n += 1
            pub.send_multipart(_tick(n))
            return got_good.n >= want
        wait_until(lambda: delivered(20), 10, what="ticks at the allowed subscriber")
        wait_until(lambda: "curve: refused a client from 127.0.0.1" in caplog.text, 10, what="the refusal logged")
        for _ in range(50):  # more traffic after the refusal: still nothing for the unknown key
            delivered(0)
        wait_until(lambda: got_good.n >= 60, 10, what="the rest at the allowed subscriber")
        assert got_bad.n == 0
        key = open(tmp_path / "keys/intruder.key").read().split('public-key = "')[1].split('"')[0]
        assert key in caplog.text and "security.allowed_clients" in caplog.text
        assert curve.refused(ctx) >= 1
    finally:
        got_good.close(), got_bad.close()
        for s in (pub, good, bad):
            s.close(linger=0)
        curve.stop_authenticator(ctx)
        ctx.term()


def test_a_lossless_push_hop_over_curve_delivers_every_message(tmp_path):
    cfg = _config(tmp_path)
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    ctx = zmq.Context()
    curve.start_authenticator(ctx, cfg.security)
    pull = make_socket(ctx, zmq.PULL, endpoint, bind=True, hwm=1000, security=cfg.security)
    push = make_socket(ctx, zmq.PUSH, endpoint, bind=False, hwm=1000, security=cfg.security)
    try:
        assert push.getsockopt(zmq.MECHANISM) == pull.getsockopt(zmq.MECHANISM) == zmq.CURVE
        for n in range(1, 501):
            push.send_multipart(_tick(n))
        seqs = []
        while len(seqs) < 500 and pull.poll(5000):
            _, _, seq, _ = decode(pull.recv_multipart())
            seqs.append(seq)
        assert seqs == list(range(1, 501))
    finally:
        push.close(linger=0), pull.close(linger=0)
        curve.stop_authenticator(ctx)
        ctx.term()


def test_ipc_endpoints_stay_plain_when_curve_is_on(tmp_path):
    cfg = _config(tmp_path)
    ctx = zmq.Context()
    sock = make_socket(ctx, zmq.PULL, f"ipc://{tmp_path}/ipc/x.ipc", bind=True, hwm=10, security=cfg.security)
    try:
        assert sock.getsockopt(zmq.MECHANISM) == zmq.NULL  # no authenticator needed: the 0700 directory guards it
        assert stat.S_IMODE(os.stat(tmp_path / "ipc").st_mode) == 0o700
    finally:
        sock.close(linger=0)
        ctx.term()


def test_a_curve_server_never_binds_without_the_authenticator(tmp_path):
    """Without a ZAP handler libzmq would let any client key in: refuse, one line."""
    cfg = _config(tmp_path)
    ctx = zmq.Context()
    try:
        with pytest.raises(SystemExit, match=r"^error: binding tcp://127.0.0.1:\d+ with CURVE needs this process's"):
            make_socket(ctx, zmq.PUB, f"tcp://127.0.0.1:{free_port()}", bind=True, hwm=10, security=cfg.security)
    finally:
        ctx.term()


def test_a_connecting_host_without_a_client_key_exits_with_one_line(tmp_path):
    keys = make_keys(tmp_path / "keys")
    allowed = tmp_path / "allowed"  # a directory of public keys, as zmq.auth reads them (*.key)
    allowed.mkdir()
    (allowed / "client.key").write_bytes((keys / "client.key").read_bytes())
    path = tmp_path / "server-only.toml"
    path.write_text(f'[security]\ncurve = true\nserver_key = "{keys}/server.key_secret"\n'
                    f'allowed_clients = ["{allowed}"]\n')
    cfg = load_config(str(path), env={})
    assert curve.keys(cfg.security).allowed == {zmq.auth.load_certificate(keys / "client.key")[0]}
    ctx = zmq.Context()
    try:
        with pytest.raises(SystemExit, match="needs security.server_public_key and security.client_key"):
            make_socket(ctx, zmq.SUB, f"tcp://127.0.0.1:{free_port()}", bind=False, hwm=10, security=cfg.security)
    finally:
        ctx.term()


def test_keys_generate_writes_private_loadable_pairs_and_never_overwrites(tmp_path):
    keys = tmp_path / "keys"
    r = generate(keys)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(os.stat(keys).st_mode) == 0o700
    for name in ("server", "client"):
        assert stat.S_IMODE(os.stat(keys / f"{name}.key_secret").st_mode) == 0o600
        public, secret = zmq.auth.load_certificate(keys / f"{name}.key_secret")
        assert zmq.auth.load_certificate(keys / f"{name}.key") == (public, None) and len(secret) == 40
    assert 'server_key = "' in r.stdout and "allowed_clients" in r.stdout
    again = generate(keys)
    assert again.returncode == 1
    assert again.stderr.strip().splitlines() == [f"Error: {keys}/server.key exists; keys are never overwritten "
                                                 "(remove it or use another directory)"]
    assert "Traceback" not in again.stderr


def _liqcascade_config(tmp_path, toml: str) -> subprocess.CompletedProcess:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    return subprocess.run([sys.executable, "-m", "liqcascade", "--config", str(path), "config"], cwd=REPO,
                          capture_output=True, text=True, timeout=60, env=child_env(path))


def test_a_missing_key_file_is_one_clear_line_and_exit_2(tmp_path):
    r = _liqcascade_config(tmp_path, '[security]\ncurve = true\nserver_public_key = "/nonexistent/server.key"\n'
                                     'client_key = "/nonexistent/client.key_secret"\n')
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "Error: config: security.client_key = '/nonexistent/client.key_secret': a secret certificate "
        "(NAME.key_secret) written by `liqcascade keys generate` (no such file)"]


def test_config_checks_security_values(tmp_path):
    keys = make_keys(tmp_path / "keys")
    with pytest.raises(ConfigError, match="security.client_key = .*this file has no secret key"):
        load_config(overrides={"security": {"curve": True, "server_public_key": f"{keys}/server.key",
                                            "client_key": f"{keys}/client.key"}}, env={})
    with pytest.raises(ConfigError, match="security.curve = True: needs server_key and allowed_clients"):
        load_config(overrides={"security": {"curve": True, "server_key": f"{keys}/server.key_secret"}}, env={})
    with pytest.raises(ConfigError, match=r"pipeline.signals_endpoint = 'tcp://\*:5601': a tcp:// endpoint off "
                                          "loopback needs security.curve"):
        load_config(overrides={"pipeline": {"signals_endpoint": "tcp://*:5601"}}, env={})
    # loopback needs no CURVE; a trusted network can opt out explicitly
    for loopback in ("tcp://127.0.0.1:5602", "tcp://[::1]:5602", "tcp://localhost:5602", "tcp://127.0.0.2:5602"):
        assert load_config(overrides={"pipeline": {"pub_endpoint": loopback}}, env={})
    for exposed in ("tcp://0.0.0.0:5602", "tcp://eth0:5602", "tcp://host.example:5602", "tcp://[::]:5602"):
        with pytest.raises(ConfigError, match="pipeline.pub_endpoint"):
            load_config(overrides={"pipeline": {"pub_endpoint": exposed}}, env={})
    assert load_config(overrides={"pipeline": {"pub_endpoint": "tcp://10.1.2.3:5602"},
                                  "security": {"allow_plain_tcp": True}}, env={})


def test_signals_process_serves_allowed_keys_only_and_stops_within_5_s(tmp_path):
    """The real `liqcascade signals` with CURVE on its tcp:// sockets: its regime ticks reach the allowed
    subscriber, the unknown key gets nothing, the refusal is in its log, and SIGTERM still ends it fast."""
    pub_ep, in_ep = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
    pipeline = (f'[pipeline]\nipc_dir = "{tmp_path / "ipc"}"\nheartbeat_s = 0.1\nsignals_endpoint = "{in_ep}"\n'
                f'pub_endpoint = "{pub_ep}"\npublisher_endpoint = "tcp://127.0.0.1:{free_port()}"\n'
                '[redis]\nenabled = false\n')
    server_cfg = _config(tmp_path, extra=pipeline)
    intruder_cfg = _config(tmp_path, "intruder", extra=pipeline)
    proc = subprocess.Popen([sys.executable, "-m", "liqcascade", "signals"], cwd=REPO,
                            env=child_env(tmp_path / "client.toml"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = OutputCollector(proc)
    ctx = zmq.Context()
    good = make_socket(ctx, zmq.SUB, pub_ep, bind=False, hwm=1000, subscribe=(b"regime",),
                       security=server_cfg.security)
    bad = make_socket(ctx, zmq.SUB, pub_ep, bind=False, hwm=1000, subscribe=(b"regime",),
                      security=intruder_cfg.security)
    got_good, got_bad = _Received(good), _Received(bad)
    try:
        wait_until(lambda: got_good.n >= 5, 30, what="regime ticks at the allowed subscriber")
        wait_until(lambda: "curve: refused a client from 127.0.0.1" in out.text(), 10, what="the refusal in the log")
        n = got_good.n
        wait_until(lambda: got_good.n >= n + 5, 10, what="more ticks after the refusal")
        assert got_bad.n == 0
        t0 = time.monotonic()
        proc.terminate()
        assert proc.wait(8) == 0
        assert time.monotonic() - t0 < 5.0
        wait_until(lambda: "curve refused" in out.text(), 5, what="the refusal count in the stop summary")
    finally:
        got_good.close(), got_bad.close()
        good.close(linger=0), bad.close(linger=0)
        ctx.term()
        if proc.poll() is None:
            proc.kill()
