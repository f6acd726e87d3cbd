"""The checks on DuckDB, in process, over the Parquet export."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings

from weibao.ledger.export import event_files, snapshot_file
from weibao.ledger.reconcile.checks import BASE_VIEWS, DERIVED, Params
from weibao.ledger.reconcile.findings import Finding, run_checks


def find(export_dir: Path, params: Params, *, kinds: Iterable[str] | None = None) -> list[Finding]:
    import duckdb

    spill = export_dir / ".duckdb-tmp"
    spill.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(
        config={
            "memory_limit": settings.LEDGER_DUCKDB_MEMORY_LIMIT,
            "temp_directory": str(spill),
            "max_temp_directory_size": settings.LEDGER_DUCKDB_TEMP_LIMIT,
            # Results are sorted in Python; not keeping scan order lets DuckDB stream.
            "preserve_insertion_order": False,
        }
    )
    try:
        for name in BASE_VIEWS:
            files = (
                event_files(export_dir) if name == "events" else [snapshot_file(name, export_dir)]
            )
            con.read_parquet([str(f) for f in files]).create_view(name)
        con.sql(params.sql()).create_view("params")
        for name, sql in DERIVED:
            # Used by two checks: computed once.
            con.execute(f"CREATE TEMP TABLE {name} AS {sql}")

        def query(sql: str) -> tuple[list[str], Sequence[Sequence[Any]]]:
            cursor = con.execute(sql)
            columns = [d[0] for d in cursor.description or []]
            return columns, cursor.fetchall()

        return run_checks(query, kinds)
    finally:
        con.close()
