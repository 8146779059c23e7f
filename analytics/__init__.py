"""Liquidation-flow analytics: bucketed windows, kinematics, correlation, baseline and cascade risk."""
