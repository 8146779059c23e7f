"""One Apprise URL as a sender: its plugin, the format it reads best, its URL with secrets masked."""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

import apprise

from common.config import ConfigError
from publisher.notify import responses
from publisher.notify.delivery import Outcome
from publisher.notify.render import MARKDOWN, TEXT

log = logging.getLogger(__name__)

# Services whose plugin lists plain text first but that render Markdown natively.
MARKDOWN_FIRST = {"discord"}


def masked(url: str) -> str:
    """For logs before a plugin exists (a URL apprise rejected): the scheme only."""
    return f"{urlsplit(url).scheme or '?'}://…"


class Destination:
    """Sends (title, body) through one apprise plugin in the calling thread, and says how it went."""

    def __init__(self, url: str, timeout_s: float) -> None:
        # async_mode off: apprise sends in our thread (the courier's), so its response is ours to inspect.
        plugin = apprise.Apprise.instantiate(url, asset=apprise.AppriseAsset(async_mode=False))
        if plugin is None:
            raise ConfigError(f"notify: not a valid Apprise URL: {masked(url)}")
        plugin.socket_connect_timeout = plugin.socket_read_timeout = timeout_s
        self.plugin = plugin
        self.name = plugin.url(privacy=True).split("?")[0]  # apprise's own masking of tokens and passwords
        self.format = self._format(plugin)
        responses.install()

    @staticmethod
    def _format(plugin: apprise.NotifyBase) -> str:
        """The URL's `?format=` if given, else the service's own first choice (Markdown for Discord)."""
        fmt = plugin.notify_format
        if not isinstance(fmt, tuple | list):
            return getattr(fmt, "value", fmt)
        names = [getattr(f, "value", f) for f in fmt]
        protocols = plugin.secure_protocol if isinstance(plugin.secure_protocol, tuple | list) \
            else (plugin.secure_protocol, plugin.protocol)
        if MARKDOWN in names and MARKDOWN_FIRST & {p for p in protocols if isinstance(p, str)}:
            return MARKDOWN
        return names[0] if names else TEXT

    def send(self, title: str, body: str) -> Outcome:
        responses.reset()
        try:
            ok = bool(self.plugin.notify(body=body, title=title, body_format=self.format))
        except Exception as exc:  # noqa: BLE001 - a plugin bug is a failed delivery, never a dead courier
            log.warning("notify: %s: apprise raised %s", self.name, type(exc).__name__)
            ok = False
        status, retry_after = responses.last()
        return Outcome(ok, status, retry_after if status == 429 else None)
