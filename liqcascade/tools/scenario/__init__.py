"""Labeled synthetic liquidation streams (Hawkes process): negatives, positive cascade classes, the suite."""
from liqcascade.tools.scenario.stream import NS, T0, THROTTLED, Stream, hawkes
from liqcascade.tools.scenario.suite import ALL_KINDS, KINDS, NEGATIVE_KINDS, POSITIVE_KINDS, SPLITS, build, write_suite

__all__ = ["ALL_KINDS", "KINDS", "NEGATIVE_KINDS", "NS", "POSITIVE_KINDS", "SPLITS", "T0", "THROTTLED", "Stream",
           "build", "hawkes", "write_suite"]
