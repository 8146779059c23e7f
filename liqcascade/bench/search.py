"""Where the throughput search probes next: the highest offered rate the pipeline sustains, to RESOLUTION.

Only a run that passed the sustained rule (`cli._sustained`) ever counts as the figure; what a failed run
measured only steers the next probe. A failed run is overloaded: offered more than it moves, it still
moves about what it can, so its measured rate is the likeliest maximum (the first probe after it), and
an offered rate above measured / SUSTAINED can only fail the 95 % rule again, so no probe goes there.
Doubling then halving alone resolved the maximum to a factor of 2 in two runs (~20-25 s each).
"""
from __future__ import annotations

SUSTAINED = 0.95  # a sustained run moves at least this share of its offered rate (cli._sustained)
RESOLUTION = 0.05  # stop once the first failed rate is this close above the best sustained one
STEP = 1000.0  # probes are whole thousands of events/s


def next_probe(good: float, bad: float | None, moved: float | None) -> float | None:
    """The next rate to offer, or None when the maximum is resolved.

    `good`: the highest sustained rate so far (0: none); `bad`: the lowest failed one (None: none yet);
    `moved`: the events/s that failed run measured (None: it measured nothing).
    """
    if bad is None:
        return max(good, STEP) * 2
    hi = bad
    if moved is not None:
        took = moved // STEP * STEP
        if good * (1 + RESOLUTION) < took < bad:
            return took
        hi = min(bad, moved / SUSTAINED)
    if hi - good <= RESOLUTION * good:
        return None
    probe = round((good + hi) / 2 / STEP) * STEP
    return probe if good < probe < bad else None
