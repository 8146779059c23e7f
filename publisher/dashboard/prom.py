"""`/metrics`: the aggregate of every process's metric files (prometheus-client multiprocess mode)."""
from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from common import metrics


def exposition(ipc_dir: str) -> tuple[bytes, str]:
    """Text exposition of all processes of the pipeline whose ipc dir is `ipc_dir` (one target per host)."""
    registry = CollectorRegistry()
    path = metrics.metrics_dir(ipc_dir)
    if os.path.isdir(path):
        registry.register(metrics.SizedFilesCollector(path))
    return generate_latest(registry), CONTENT_TYPE_LATEST
