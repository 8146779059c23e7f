"""An Apprise destination against a local webhook: the 429's Retry-After reaches us; secrets never logged."""
from __future__ import annotations

import logging

import pytest

from common.config import ConfigError
from publisher.notify.destination import Destination
from tests.integration.http_sinks import Sink


def test_a_429_reports_its_retry_after_and_then_delivers():
    sink = Sink(answers=(429,), retry_after="7")
    try:
        dest = Destination(sink.url, timeout_s=5)
        assert dest.format == "text"
        first = dest.send("title", "body")
        second = dest.send("title", "body")
    finally:
        sink.close()
    assert (first.ok, first.status, first.retry_after_s) == (False, 429, 7.0)
    assert (second.ok, second.status, second.retry_after_s) == (True, 200, None)
    assert [p["title"] for _, p in sink.delivered()] == ["title"]


def test_an_unreachable_destination_is_a_failure_without_status(caplog):
    dest = Destination("json://user:s3cretpw@127.0.0.1:1/", timeout_s=1)
    with caplog.at_level(logging.DEBUG):
        out = dest.send("t", "b")
    assert (out.ok, out.status) == (False, None)
    assert "s3cretpw" not in dest.name and "s3cretpw" not in caplog.text
    assert dest.name.startswith("json://user:")


def test_service_formats_and_masked_names():
    tg = Destination("tgram://123456789:AAbbCCddEEffGGhh/-1001234567/", timeout_s=1)
    dc = Destination("discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dVjs/", timeout_s=1)
    assert (tg.format, dc.format) == ("html", "markdown")
    assert "AAbbCCddEEffGGhh" not in tg.name and "JHMHI8qBe7bk2ZwO5U711o3dVjs" not in dc.name


def test_a_url_apprise_does_not_know_is_a_config_error_that_shows_no_secret():
    with pytest.raises(ConfigError) as err:
        Destination("nosuchservice://token:secret@host/", timeout_s=1)
    assert "secret" not in str(err.value)
