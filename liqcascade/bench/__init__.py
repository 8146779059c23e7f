"""`liqcascade bench`: transport limits, the live pipeline, and per-stage costs on this machine."""
