"""Everything downstream of signals: the Redis publisher and the live `tail` view (notifier, dashboard, store)."""
