"""The ipc socket directory is a trust boundary: whoever can write there can forge pipeline messages.

So it is created 0700, and a stage refuses to bind in a directory another user owns or that group or
others can write to (one clear line, non-zero exit), rather than chmod-ing a directory it did not create.
"""
from __future__ import annotations

import os
import stat


class IpcDirError(RuntimeError):
    """The ipc directory is not private to the running user."""


def check(path: str) -> None:
    """Create `path` (0700) if missing; raise IpcDirError unless it is a directory private to this user."""
    path = os.path.abspath(path)
    if not os.path.exists(path):
        os.makedirs(path, mode=0o700, exist_ok=True)
        os.chmod(path, 0o700)  # makedirs' mode is filtered by the umask
    st = os.stat(path)
    uid = os.getuid()
    fix = "use a directory of your own (pipeline.ipc_dir or LIQCASCADE_IPC_DIR)"
    if not stat.S_ISDIR(st.st_mode):
        raise IpcDirError(f"ipc directory {path} is not a directory; {fix}")
    if st.st_uid != uid:
        raise IpcDirError(f"ipc directory {path} is owned by uid {st.st_uid}, not by you (uid {uid}): whoever "
                          f"owns it can forge pipeline messages; {fix}")
    if st.st_mode & 0o022:
        raise IpcDirError(f"ipc directory {path} is writable by group or others (mode {stat.S_IMODE(st.st_mode):o}):"
                          f" they could forge pipeline messages; chmod 700 it, or {fix}")


def ensure(path: str) -> None:
    """check(), turning a refusal into one line on stderr and exit status 1 (for stage processes)."""
    try:
        check(path)
    except IpcDirError as exc:
        raise SystemExit(f"error: {exc}") from None
