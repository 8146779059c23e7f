"""Raw rows out of the store to Parquet (pyarrow) or CSV, chunk by chunk so memory stays bounded."""
from __future__ import annotations

import csv

import pyarrow as pa
import pyarrow.parquet as pq

from publisher.store import queries as q
from publisher.store import schema as s
from publisher.store.backend import Backend
from publisher.store.progress import progress_iter

_TYPES = {"BIGINT": pa.int64(), "TEXT": pa.string(), "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_()}
ARROW_SCHEMA = pa.schema([(n, _TYPES[t.split()[0]]) for n, t in s.LIQ_COLUMNS])


def export(db: Backend, f: q.Filter, fmt: str, path: str, *, progress: bool = False) -> int:
    """Write the filtered liquidation rows to `path`; returns how many."""
    chunks = q.export_rows(db, f)
    if progress:
        chunks = progress_iter(chunks, q.export_count(db, f), "export", True)
    n = 0
    if fmt == "parquet":
        with pq.ParquetWriter(path, ARROW_SCHEMA) as w:
            for rows in chunks:
                cols = list(zip(*rows, strict=True))
                w.write_table(pa.table({name: pa.array(c, type=ARROW_SCHEMA.field(name).type)
                                        for name, c in zip(ARROW_SCHEMA.names, cols, strict=True)}))
                n += len(rows)
            if n == 0:
                w.write_table(ARROW_SCHEMA.empty_table())
    else:
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(q.EXPORT_COLUMNS)
            for rows in chunks:
                w.writerows(rows)
                n += len(rows)
    return n
