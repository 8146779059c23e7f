"""The throughput search resolves the highest sustained rate to 5 % in a few runs; only sustained runs count."""
from __future__ import annotations

from typing import Any

import pytest

from liqcascade.bench import cli
from liqcascade.bench.search import next_probe

P = {"chain_s": 0.1, "warmup_s": 0.1, "window_s": 0.1}


def pipeline_of(capacity: float, offered: list[float]) -> Any:
    """A stand-in for `pipeline.run`: moves what is offered up to `capacity`, loses nothing."""
    def run(rate: float, **_: Any) -> dict[str, Any]:
        offered.append(rate)
        sent = int(rate * 13)
        return {"events_per_s": round(min(rate, capacity)), "events_sent": sent, "events_in": sent, "lost": 0,
                "gaps": 0, "tape": True}
    return run


def search(monkeypatch: pytest.MonkeyPatch, capacity: float, start: float = 50_000,
           steps: int = cli.SEARCH_STEPS) -> tuple[list[float], dict[str, Any]]:
    offered: list[float] = []
    monkeypatch.setattr(cli.pipeline, "run", pipeline_of(capacity, offered))
    runs = cli._pipelines([], [start], P, None, lambda _: None, {}, steps)
    res = {"pipeline": runs}
    cli._summarize(res)
    return offered, res


@pytest.mark.parametrize("capacity", [131_394, 104_000, 77_000, 260_000])
def test_the_maximum_is_resolved_to_5_percent_of_the_capacity(monkeypatch, capacity):
    offered, res = search(monkeypatch, capacity)
    best = res["pipeline_events_per_s"]
    assert 0.95 * capacity <= best <= capacity  # a sustained run moves >= 95 % of its offered rate
    assert len(offered) <= 1 + cli.SEARCH_STEPS


def test_from_the_session4_figures_two_runs_after_the_doubling(monkeypatch):
    # docs/bench/2026-12-01-session4.json: 200,000 offered moved 131,394 and failed the 95 % rule
    offered, res = search(monkeypatch, 131_394)
    assert offered[:4] == [50_000, 100_000, 200_000, 131_000]  # then the failed run's measured rate
    assert len(offered) <= 5
    assert res["pipeline_events_per_s"] >= 131_000


def test_a_failed_run_never_counts_even_when_it_moved_more():
    assert next_probe(100_000, 200_000, 131_394) == 131_000
    assert next_probe(131_000, 200_000, 131_394) == 135_000  # below 131,394 / 0.95: above it fails the 95 % rule
    assert next_probe(135_000, 200_000, 131_394) is None  # 138,309 is within 5 % of 135,000
    assert next_probe(50_000, None, None) == 100_000  # none failed yet: double
    assert next_probe(100_000, 104_000, 101_000) is None  # resolved
    assert next_probe(100_000, 200_000, None) == 150_000  # the failed run measured nothing: bisect


def test_no_search_in_quick_mode(monkeypatch):
    offered, res = search(monkeypatch, 131_394, steps=0)
    assert offered == [50_000] and res["pipeline_events_per_s"] == 50_000
