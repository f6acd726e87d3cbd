"""Ingest: enterprise systems file events in batches; a batch is accepted whole or rejected whole.

The path is built for volume (the figures are in docs/operations.md, `bench/ledger.py`):

1. rows are parsed and checked for form (codes, times, coordinates) in one pass;
2. everything the rows refer to is read in a handful of set-based queries: the current state of
   every code, of the boxes and cases they are packed in and of everything packed inside those,
   units by USCC, sites, people with their blaster certificates, projects and permits;
3. the events are replayed in order against that in-memory state, row by row, through the
   transition rules (rules.py), which name the first problem of each row;
4. under the write lock (checked again there if another batch was written meanwhile): if any
   row failed, the batch is stored as rejected with the per-row report and nothing else is
   written; otherwise the events are inserted with one `executemany`, new codes with another,
   and changed states with one `UPDATE` per set of changed columns, in one transaction.

Files (`weibao ledger ingest`) go through pipeline.py: a writer process files each batch while
the next one is read and validated against what the batch in flight leaves, with the same
outcome as one batch after another. Python's cyclic collector is paused while a batch is
handled (`collector_paused`), and on SQLite a file's ingest gets a larger page cache
(`widen_cache`).
"""

from weibao.ledger.ingest.batch import Result, ingest_file, ingest_files, ingest_rows
from weibao.ledger.ingest.reading import (
    COLUMNS,
    IngestError,
    RowError,
    csv_rows,
    decode,
)

__all__ = [
    "COLUMNS",
    "IngestError",
    "Result",
    "RowError",
    "csv_rows",
    "decode",
    "ingest_file",
    "ingest_files",
    "ingest_rows",
]
