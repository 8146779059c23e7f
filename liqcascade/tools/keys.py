"""`liqcascade keys generate DIR`: CURVE key pairs (zmq certificates) for the [security] section."""
from __future__ import annotations

import os
import re
from pathlib import Path

import click
import zmq.auth

from common.input_files import InputError

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@click.group("keys")
def command() -> None:
    """CURVE keys for tcp:// endpoints (see README, Across hosts)."""


@command.command("generate")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--client", "client", default="client", show_default=True,
              help="Name of the client key pair (one per consumer host or role: NAME.key, NAME.key_secret).")
@click.option("--server/--no-server", default=True, show_default=True,
              help="Also write the server pair (server.key, server.key_secret); --no-server adds a client only.")
def generate(directory: Path, client: str, server: bool) -> None:
    """Write a server and a client key pair into DIRECTORY (created 0700; secret files 0600).

    NAME.key is the public certificate, safe to copy to other hosts; NAME.key_secret holds the secret key
    and stays on the host that uses it. Existing files are never overwritten.
    """
    if not NAME.match(client) or client == "server":
        raise click.BadParameter(f"{client!r}: letters, digits, '.', '_' or '-' (and not 'server')",
                                 param_hint="--client")
    names = (["server"] if server else []) + [client]
    existing = [str(directory / f"{n}{ext}") for n in names for ext in (".key", ".key_secret")
                if (directory / f"{n}{ext}").exists()]
    if existing:
        raise InputError(f"{existing[0]} exists; keys are never overwritten (remove it or use another directory)")
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name in names:
            public, secret = zmq.auth.create_certificates(directory, name)
            os.chmod(secret, 0o600)
            os.chmod(public, 0o644)
    except OSError as exc:
        raise InputError(f"{exc.filename or directory}: {exc.strerror or exc}") from None
    d = directory.resolve()
    click.echo(f"wrote {', '.join(f'{n}.key, {n}.key_secret' for n in names)} in {d}")
    click.echo("\n# binding host (analytics, signals, publisher):\n[security]\ncurve = true\n"
               f'server_key = "{d}/server.key_secret"\nallowed_clients = ["{d}/{client}.key"]')
    click.echo("\n# connecting host (ingest, dashboard, notify, store, tail), with server.key and the client pair:\n"
               f'[security]\ncurve = true\nserver_public_key = "{d}/server.key"\n'
               f'client_key = "{d}/{client}.key_secret"')
