"""Each message kind from the demo's real signals, for Telegram (HTML), Discord (Markdown) and plain text."""
from __future__ import annotations

from dataclasses import replace

import pytest

from common.config import NotifyDestination
from publisher.notify.episodes import Episodes, Notice
from publisher.notify.render import HTML, MARKDOWN, TEXT, render
from tests.unit.publisher.notify_data import demo_liquidations, demo_signals


def thread() -> list[Notice]:
    """The demo's BTCUSDT thread for a WATCH destination: open, escalate, resolve; then a large liquidation."""
    eps = Episodes([NotifyDestination(url="json://a/", min_level="WATCH", symbols=("BTCUSDT",),
                                      liquidation_min_usd={"BTCUSDT": 500_000.0})])
    notes = [n for sig, w in demo_signals() for _, n in eps.on_signal(sig, w)]
    notes += [n for liq in demo_liquidations() for _, n in eps.on_liquidation(liq)]
    assert [n.kind for n in notes[:4]] == ["open", "escalate", "resolve", "liquidation"]
    return notes[:4]


def test_plain_text_of_each_kind():
    opening, escalation, end, big = (render(n, TEXT) for n in thread())
    assert opening[0] == "👀 WATCH BTCUSDT: longs liquidated"
    assert escalation[0] == "🔥 EXTREME BTCUSDT: longs liquidated (up from WATCH)"
    body = escalation[1].splitlines()
    assert body[0].endswith("in the last 60 s") and body[0].startswith("$")
    assert body[1] == "Venues: Binance, Bybit, Hyperliquid, OKX"
    assert body[2].startswith("Regime ") and ", probability " in body[2] and ", confidence " in body[2]
    assert body[3].startswith("BTCUSDT EXTREME: cascade probability") and "× the $50k/s floor" in body[3]
    assert body[4].endswith(" UTC")
    assert end[0] == "✅ Resolved BTCUSDT: back to NONE"
    assert end[1].startswith("Peak EXTREME 🔥, lasted ") and "liquidated in the episode" in end[1]
    assert big == ("", "💥 #BTC Long Liquidated $807k @ 59,033 on Bybit\n2026-12-01 02:55:31 UTC")


def test_telegram_html_escapes_every_dynamic_field():
    opening = thread()[0]
    hostile = replace(opening, signal=replace(opening.signal, explanation="a <b>bold</b> & <script> claim"))
    title, body = render(hostile, HTML)
    assert "a &lt;b&gt;bold&lt;/b&gt; &amp; &lt;script&gt; claim" in body and "<script>" not in body
    assert title == "👀 WATCH BTCUSDT: longs liquidated"
    _, big = render(thread()[3], HTML)
    assert big.startswith("💥 <b>#BTC Long Liquidated $807k @ 59,033 on Bybit</b>\n")


def test_discord_markdown_escapes_markup_characters():
    opening = thread()[0]
    hostile = replace(opening, signal=replace(opening.signal, explanation="x_1 *y* `z` [l](u)"))
    _, body = render(hostile, MARKDOWN)
    assert r"x\_1 \*y\* \`z\` \[l\]\(u\)" in body
    _, big = render(thread()[3], MARKDOWN)
    assert big.startswith(r"💥 **\#BTC Long Liquidated $807k @ 59,033 on Bybit**")


@pytest.mark.parametrize("fmt", [TEXT, HTML, MARKDOWN])
def test_every_kind_renders_a_title_or_body_in_every_format(fmt):
    for n in thread():
        title, body = render(n, fmt)
        assert body.strip()
        assert n.symbol in title + body or "#BTC" in body
