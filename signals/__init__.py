"""Signals: market regime, cascade probability and levels, the signals process."""
