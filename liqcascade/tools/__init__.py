"""Tools that compose several stages: backtest, labeled scenarios, the real-data replay (bench and sim sit beside)."""
