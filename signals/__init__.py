"""Signals: market regime, cascade levels, backtests and scenarios."""
