"""Reconciliation (对账): finds what the ledger's rules forbid and keeps it as anomalies.

    export (weibao.ledger.export)  →  checks (checks.py SQL, on DuckDB or Spark)  →  store

The checks are one SQL text per anomaly kind, run unchanged by DuckDB (default, in process) and
by Spark (`engine="spark"`, pyspark being an optional extra: `pip install weibao[spark]`, Java
17), over the Parquet export. Both return the same normalized, sorted list of `Finding`s.

Stable entry points (the nightly task, `weibao ledger reconcile`, the benchmark):

- `run(*, engine="duckdb", master=None, as_of=None, export_dir=None, export=True, store=True)`
  → `ReconcileResult`: export the new events, run every check, upsert the anomalies.
- `find(*, engine="duckdb", master=None, as_of=None, export_dir=None, kinds=None)`
  → `list[Finding]`: only the checks, over an existing export (nothing read from or written to
  the database).

`as_of` (an aware datetime, default now) decides which shipments are overdue (shipped at least
LEDGER_NOT_RECEIVED_HOURS before it) and which days are over for the closed loop (days before
its local day). The other checks read the whole export; capacity uses the current stock.
"""

from __future__ import annotations

import time as clock
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from weibao.ledger.export import ExportResult, export_path, ledger_export
from weibao.ledger.reconcile.checks import CHECKS, Params
from weibao.ledger.reconcile.findings import Finding
from weibao.ledger.reconcile.store import StoreResult, anomalies_store

ENGINES = ("duckdb", "spark")


class EngineUnavailable(RuntimeError):
    """The engine asked for is not installed (pyspark is an optional extra)."""


@dataclass
class ReconcileResult:
    engine: str
    as_of: datetime
    counts: dict[str, int]  # findings per kind, every kind listed
    seconds: dict[str, float]  # export, checks, store, total
    findings: list[Finding] = field(default_factory=list)
    export: ExportResult | None = None
    store: StoreResult | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (task results, command output)."""
        return {
            "engine": self.engine,
            "as_of": self.as_of.isoformat(),
            "counts": self.counts,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "exported_events": self.export.events if self.export else 0,
            "created": self.store.created if self.store else 0,
            "updated": self.store.updated if self.store else 0,
            "notified": self.store.notified if self.store else 0,
        }


def params_for(as_of: datetime) -> Params:
    return Params(
        as_of=int(as_of.timestamp()),
        transit_seconds=settings.LEDGER_NOT_RECEIVED_HOURS * 3600,
        late_seconds=settings.LEDGER_LATE_FILING_DAYS * 86400,
    )


def find(
    *,
    engine: str = "duckdb",
    master: str | None = None,
    as_of: datetime | None = None,
    export_dir: str | Path | None = None,
    kinds: Iterable[str] | None = None,
) -> list[Finding]:
    """The checks alone over the export in `export_dir` (default LEDGER_EXPORT_DIR)."""
    params = params_for(as_of or timezone.now())
    root = export_path(export_dir)
    if kinds is not None:
        kinds = list(kinds)
        unknown = set(kinds) - set(CHECKS)
        if unknown:
            raise ValueError(f"unknown checks: {sorted(unknown)}")
    engine_check(engine)
    if engine == "spark":
        from weibao.ledger.reconcile import spark_engine

        return spark_engine.find(root, params, kinds=kinds, master=master)
    from weibao.ledger.reconcile import duckdb_engine

    return duckdb_engine.find(root, params, kinds=kinds)


def engine_check(engine: str) -> None:
    """Refuse an unknown engine (ValueError) or one not installed (EngineUnavailable)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; one of {', '.join(ENGINES)}")
    if engine == "spark":
        from weibao.ledger.reconcile import spark_engine

        if not spark_engine.available():
            raise EngineUnavailable("pyspark is not installed: pip install 'weibao[spark]'")


def run(
    *,
    engine: str = "duckdb",
    master: str | None = None,
    as_of: datetime | None = None,
    export_dir: str | Path | None = None,
    export: bool = True,
    store: bool = True,
) -> ReconcileResult:
    """Export the ledger (incrementally), run every check on `engine`, keep the anomalies.

    `master` is Spark's master URL (default LEDGER_SPARK_MASTER, `local[*]`). `export=False`
    reads the export as it is; `store=False` leaves the database untouched (benchmarks)."""
    engine_check(engine)  # before exporting: a run that cannot check should not start
    started = clock.perf_counter()
    moment = as_of or timezone.now()
    seconds: dict[str, float] = {}
    exported = None
    if export:
        exported = ledger_export(export_dir=export_dir)
        seconds["export"] = clock.perf_counter() - started
    mark = clock.perf_counter()
    found = find(engine=engine, master=master, as_of=moment, export_dir=export_dir)
    seconds["checks"] = clock.perf_counter() - mark
    stored = None
    if store:
        mark = clock.perf_counter()
        stored = anomalies_store(findings=found)
        seconds["store"] = clock.perf_counter() - mark
    seconds["total"] = clock.perf_counter() - started
    counts = dict.fromkeys(CHECKS, 0)
    for finding in found:
        counts[finding.kind] += 1
    return ReconcileResult(
        engine=engine,
        as_of=moment,
        counts=counts,
        seconds=seconds,
        findings=found,
        export=exported,
        store=stored,
    )


__all__ = [
    "CHECKS",
    "ENGINES",
    "EngineUnavailable",
    "Finding",
    "ReconcileResult",
    "engine_check",
    "find",
    "run",
]
