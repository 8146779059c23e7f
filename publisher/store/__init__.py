"""The history store: every liquidation, signal level change and per-minute rollup, in DuckDB or PostgreSQL."""
