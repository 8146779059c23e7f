"""`liqcascade dashboard`: the live web page, its JSON/SSE endpoints, /metrics, /livez and /readyz."""
