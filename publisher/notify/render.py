"""Notices into words a person reads at a glance: plain text, Telegram HTML or Discord Markdown."""
from __future__ import annotations

import html
import re
import time

from common.schema import LONG, SHORT
from publisher.notify.episodes import ESCALATE, LIQUIDATION, RESOLVE, Notice
from publisher.tape import headline, usd, venue_name

TEXT, HTML, MARKDOWN = "text", "html", "markdown"  # apprise.NotifyFormat values
EMOJI = {"WATCH": "👀", "ALERT": "⚠️", "CRITICAL": "🚨", "EXTREME": "🔥", "NONE": "✅"}
_MD_SPECIAL = re.compile(r"([\\*_~`|>#\[\]()])")


def esc(text: str, fmt: str) -> str:
    """Escape dynamic text for the format, so a symbol or explanation can never break the markup."""
    if fmt == HTML:
        return html.escape(text, quote=False)
    if fmt == MARKDOWN:
        return _MD_SPECIAL.sub(r"\\\1", text)
    return text


def bold(text: str, fmt: str) -> str:
    return f"<b>{text}</b>" if fmt == HTML else f"**{text}**" if fmt == MARKDOWN else text


def sides(direction: str) -> str:
    return {LONG: "longs liquidated", SHORT: "shorts liquidated"}.get(direction, "both sides liquidated")


def clock(ts_ns: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts_ns / 1e9))


def duration(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}h {s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m {s % 60:02d}s" if s >= 60 else f"{s}s"


def render(n: Notice, fmt: str = TEXT) -> tuple[str, str]:
    """(title, body) of one notice in `fmt`; apprise sends them with body_format=fmt."""
    if n.kind == LIQUIDATION:
        return _liquidation(n, fmt)
    if n.kind == RESOLVE:
        return _resolved(n, fmt)
    return _level(n, fmt)


def _level(n: Notice, fmt: str) -> tuple[str, str]:
    sig = n.signal
    assert sig is not None
    change = f" (up from {sig.previous_level})" if n.kind == ESCALATE else ""
    title = f"{EMOJI.get(sig.level, '')} {sig.level} {sig.symbol}: {sides(sig.direction)}{change}"
    w = n.window
    venues = ", ".join(venue_name(v) for v in w.venues) or "n/a"
    lines = [
        esc(f"{usd(w.usd_10s)} in the last 10 s, {usd(w.usd_60s)} in the last 60 s", fmt),
        esc(f"Venues: {venues}", fmt),
        esc(f"Regime {sig.regime}, probability {sig.probability:.0%}, confidence {sig.confidence:.0%}", fmt),
        esc(sig.explanation, fmt),
        esc(clock(sig.ts), fmt),
    ]
    return esc(title, fmt), "\n".join(lines)


def _resolved(n: Notice, fmt: str) -> tuple[str, str]:
    sig = n.signal
    assert sig is not None
    title = f"{EMOJI['NONE']} Resolved {n.symbol}: back to NONE"
    lines = [
        esc(f"Peak {n.peak} {EMOJI.get(n.peak, '')}, lasted {duration(n.duration_s)}, "
            f"{usd(n.total_usd)} liquidated in the episode", fmt),
        esc(clock(sig.ts), fmt),
    ]
    return esc(title, fmt), "\n".join(lines)


def _liquidation(n: Notice, fmt: str) -> tuple[str, str]:
    liq = n.liquidation
    assert liq is not None
    return "", f"💥 {bold(esc(headline(liq), fmt), fmt)}\n{esc(clock(liq.ts_event), fmt)}"
