"""CURVE on tcp:// sockets: keys from [security], and one ZAP authenticator thread per process that refuses
(and logs) every client whose public key is not allowed.

Without a ZAP handler libzmq lets any CURVE client in, so a server socket is only made once this process's
authenticator runs (`start_authenticator`); `make_socket` refuses otherwise.
"""
from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from typing import Any

import zmq
from zmq.auth.certs import load_certificate, load_certificates
from zmq.auth.thread import ThreadAuthenticator

from common.config_sections import SecurityConfig
from common.logs import RateLimitedLog

log = logging.getLogger(__name__)

ZAP_DOMAIN = b"liqcascade"
REFUSAL_LOG_S = 60.0  # a refused client retries every ~100 ms; one line per key and address per minute


class CurveError(RuntimeError):
    """The process needs a key [security] does not name (or one it names does not load)."""


@dataclass(frozen=True)
class Keys:
    server_public: bytes | None
    server_secret: bytes | None
    client_public: bytes | None
    client_secret: bytes | None
    allowed: frozenset[bytes]


def on_for(endpoint: str, sec: SecurityConfig | None) -> bool:
    """Whether `endpoint` is secured with CURVE under `sec` (tcp:// only: ipc relies on the ipc_dir's mode)."""
    return bool(sec is not None and sec.curve and endpoint.startswith("tcp://"))


@functools.lru_cache(maxsize=4)
def keys(sec: SecurityConfig) -> Keys:
    """The key material [security] names, loaded once per process (config validation already checked it)."""
    def cert(path: str) -> tuple[bytes | None, bytes | None]:
        return load_certificate(os.path.expanduser(path)) if path else (None, None)

    allowed: set[bytes] = set()
    for path in sec.allowed_clients:
        path = os.path.expanduser(path)
        allowed |= set(load_certificates(path)) if os.path.isdir(path) else {load_certificate(path)[0]}
    server_public, server_secret = cert(sec.server_key)
    if sec.server_public_key:
        server_public = cert(sec.server_public_key)[0]
    client_public, client_secret = cert(sec.client_key)
    return Keys(server_public, server_secret, client_public, client_secret, frozenset(allowed))


class _AllowList:
    """The authenticator's credentials provider: allowed keys pass, others are refused, counted and logged."""

    def __init__(self, allowed: frozenset[bytes], auth: _Authenticator) -> None:
        self.allowed = allowed
        self.auth = auth
        self.refused = 0
        self.warn = RateLimitedLog(log, REFUSAL_LOG_S)

    def callback(self, domain: str, client_key: bytes) -> bool:
        if client_key in self.allowed:
            return True
        self.refused += 1
        key, address = client_key.decode(errors="replace"), self.auth.peer_address
        self.warn.warning(f"{key}@{address}", "curve: refused a client from %s: public key %s is not in "
                          "security.allowed_clients (%d refusal(s) so far)", address, key, self.refused)
        return False


class _Authenticator(ThreadAuthenticator):
    """ThreadAuthenticator that remembers the address of the request being checked, for the refusal's log line."""

    peer_address = "?"

    async def handle_zap_message(self, msg: list[bytes]) -> None:
        if len(msg) > 3:
            self.peer_address = msg[3].decode(errors="replace")
        await super().handle_zap_message(msg)


_RUNNING: dict[int, tuple[_Authenticator, _AllowList]] = {}  # id(context) -> its authenticator


def start_authenticator(ctx: zmq.Context, sec: SecurityConfig) -> None:
    """Start this context's ZAP authenticator when CURVE is on (a no-op otherwise); `stop_authenticator` ends it."""
    if not sec.curve or id(ctx) in _RUNNING:
        return
    auth = _Authenticator(ctx, log=logging.getLogger("liqcascade.zap"))
    provider = _AllowList(keys(sec).allowed, auth)
    auth.start()
    auth.configure_curve_callback(domain=ZAP_DOMAIN.decode(), credentials_provider=provider)
    _RUNNING[id(ctx)] = (auth, provider)
    log.debug("curve: authenticator started, %d allowed client key(s)", len(provider.allowed))


def stop_authenticator(ctx: zmq.Context) -> int:
    """Stop the context's authenticator (before ctx.term, which waits for its sockets); return its refusals."""
    running = _RUNNING.pop(id(ctx), None)
    if running is None:
        return 0
    auth, provider = running
    auth.stop()
    return provider.refused


def refused(ctx: zmq.Context) -> int:
    """Clients refused so far by the context's authenticator."""
    running = _RUNNING.get(id(ctx))
    return running[1].refused if running else 0


def configure(sock: zmq.Socket, ctx: Any, endpoint: str, *, bind: bool, sec: SecurityConfig | None) -> None:
    """Make `sock` a CURVE server (binding) or client (connecting) when `endpoint` is tcp:// and CURVE is on."""
    if not on_for(endpoint, sec):
        return
    assert sec is not None
    k = keys(sec)
    if bind:
        if not (k.server_secret and k.allowed):
            raise CurveError(f"binding {endpoint} with CURVE needs security.server_key and at least one public key "
                             "in security.allowed_clients")
        if id(ctx) not in _RUNNING:
            raise CurveError(f"binding {endpoint} with CURVE needs this process's authenticator "
                             "(common.curve.start_authenticator): without it any client key would be let in")
        sock.zap_domain = ZAP_DOMAIN
        sock.curve_secretkey = k.server_secret
        sock.curve_server = True
    else:
        if not (k.server_public and k.client_secret and k.client_public):
            raise CurveError(f"connecting to {endpoint} with CURVE needs security.server_public_key and "
                             "security.client_key")
        sock.curve_serverkey = k.server_public
        sock.curve_publickey = k.client_public
        sock.curve_secretkey = k.client_secret
