"""ZMQ socket construction: the stable side binds, the transient side connects; HWM and linger set on purpose."""
from __future__ import annotations

import os
from urllib.parse import urlparse

import zmq

from common import curve, ipc_dir
from common.config_sections import SecurityConfig

# Long enough to hand buffered frames to a live peer on shutdown, short enough to exit within 5 s.
LINGER_MS = 500
DEFAULT_MAX_MSG_BYTES = 4 << 20  # a batch of 256 liquidations is ~30 KB, a snapshot ~3 KB
INPUT_KINDS = frozenset((zmq.PULL, zmq.SUB))
_SNDMORE = int(zmq.SNDMORE)


def ensure_ipc_dir(endpoint: str) -> None:
    if endpoint.startswith("ipc://"):
        ipc_dir.ensure(os.path.dirname(endpoint[len("ipc://"):]) or ".")  # private to this user, or exit


def make_socket(ctx: zmq.Context, kind: int, endpoint: str, *, bind: bool, hwm: int,
                subscribe: tuple[bytes, ...] = (), max_msg_bytes: int = DEFAULT_MAX_MSG_BYTES,
                security: SecurityConfig | None = None) -> zmq.Socket:
    """Create, configure and bind/connect a socket.

    PUSH blocks at the high-water mark, which is the backpressure that makes ingest->analytics lossless;
    PUB drops at it, which is what a slow raw consumer must never do to the pipeline. Every input
    socket refuses frames above `max_msg_bytes` (ZMQ_MAXMSGSIZE: libzmq drops the peer's connection
    before buffering the frame, and a connecting peer reconnects), so one huge message cannot grow a
    stage to gigabytes. With `security.curve` on, a tcp:// socket is a CURVE server when it binds (clients
    checked by the process's authenticator, common.curve) and a CURVE client when it connects; a key the
    process lacks is one line on stderr and exit status 1.
    """
    if bind:
        ensure_ipc_dir(endpoint)  # before the socket exists: a refusal must not leave it open (ctx.term waits)
    sock = ctx.socket(kind)
    sock.setsockopt(zmq.LINGER, LINGER_MS)
    try:
        curve.configure(sock, ctx, endpoint, bind=bind, sec=security)  # before bind/connect: the handshake needs it
    except curve.CurveError as exc:
        sock.close(linger=0)
        raise SystemExit(f"error: {exc}") from None
    if kind in INPUT_KINDS and max_msg_bytes > 0:
        sock.setsockopt(zmq.MAXMSGSIZE, max_msg_bytes)
    sock.setsockopt(zmq.SNDHWM, hwm)
    sock.setsockopt(zmq.RCVHWM, hwm)
    if kind == zmq.SUB:
        for prefix in subscribe or (b"",):
            sock.setsockopt(zmq.SUBSCRIBE, prefix)
    if bind:
        sock.bind(endpoint)
    else:
        sock.connect(endpoint)
    return sock


def send_frames(sock: zmq.Socket, frames: list[bytes], flags: int = 0) -> None:
    """`sock.send_multipart(frames, flags, copy=False)` for the wire's frames (bytes), at half its cost.

    pyzmq's send_multipart type-checks every frame and ORs each one's flags as an IntFlag in Python: ~5 µs of
    the ~9 µs three small frames take, on every message every stage sends. Same sends, same atomicity: a
    full queue (zmq.Again with NOBLOCK) refuses the first frame, and then nothing was sent.
    """
    flags = int(flags)
    more = flags | _SNDMORE
    send = sock.send
    for frame in frames[:-1]:
        send(frame, more, copy=False)
    send(frames[-1], flags, copy=False)


def describe(endpoint: str) -> str:
    """Short human form of an endpoint for logs."""
    u = urlparse(endpoint)
    return f"{u.scheme}://{u.netloc or ''}{u.path}"
