"""`liqcascade notify`: signals and large liquidations as chat messages (Apprise), never stalling the pipeline."""
