"""The Redis publisher: signals, keys, history and a catch-up stream, never stalling the pipeline."""
