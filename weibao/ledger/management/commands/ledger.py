"""`weibao ledger <sub>`: the ledger's command line.

- `ingest FILE [--batch-rows N]`: a CSV (UTF-8 or GBK) or Parquet file of any size, filed in
  consecutive batches of N rows (default LEDGER_MAX_BATCH_ROWS), each accepted or rejected
  whole; progress on stderr; exits 1 if any batch was rejected, after naming its rows in error.
- `reconcile [--engine duckdb|spark] [--master URL]`: the nightly reconciliation.
- `generate --items N --seed S [--out DIR]`: a synthetic national history with known anomalies.
"""

from __future__ import annotations

import importlib
import json
import os
import time
from types import ModuleType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from weibao.core.context import acting_as

LABEL = "command:ledger"
SHOWN_ERRORS = 20


def count_rows(path: str) -> int:
    """Data rows in the file, for the progress bar: Parquet from its footer; CSV by counting
    line ends (a quoted line break would count twice: the bar then ends a little early)."""
    if path.lower().endswith(".parquet"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return int(pq.ParquetFile(path).metadata.num_rows)
        except (OSError, pa.ArrowException):
            return 0  # ingest_file names what is wrong with it
    lines = 0
    last = b"\n"
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        lines += 1
    return max(lines - 1, 0)


class Progress:
    """A one-line progress bar redrawn with a carriage return; a plain line per update when the
    output is not a terminal (logs, tests)."""

    WIDTH = 30

    def __init__(self, out: OutputWrapper, total: int) -> None:
        self.out = out
        self.total = total
        self.started = time.perf_counter()
        self.tty = out.isatty()

    def __call__(self, done: int) -> None:
        share = min(done / self.total, 1.0) if self.total else 1.0
        filled = int(share * self.WIDTH)
        seconds = time.perf_counter() - self.started
        rate = done / seconds if seconds else 0.0
        line = (
            f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {share:6.1%} "
            f"{done:,}/{self.total:,} rows {rate:,.0f}/s"
        )
        self.out.write(("\r" + line) if self.tty else line, ending="" if self.tty else "\n")
        self.out.flush()

    def close(self) -> None:
        if self.tty:
            self.out.write("")
            self.out.flush()


def _helper(name: str) -> ModuleType:
    """A module another part of the ledger provides, imported when first needed."""
    module = f"weibao.ledger.{name}"
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            raise CommandError(f"{module} is not available in this installation.") from None
        raise


class Command(BaseCommand):
    help = "The traceability ledger: ingest event files, reconcile, generate synthetic data."

    def add_arguments(self, parser: CommandParser) -> None:
        subs = parser.add_subparsers(
            dest="sub", required=True, metavar="{ingest,reconcile,generate}"
        )
        ingest = subs.add_parser("ingest", help="file CSV or Parquet files of events")
        ingest.add_argument(
            "file", nargs="+", help=".csv (UTF-8 or GBK) or .parquet files, filed in this order"
        )
        ingest.add_argument(
            "--batch-rows",
            type=int,
            default=None,
            help="rows per batch (default and maximum: LEDGER_MAX_BATCH_ROWS)",
        )
        reconcile = subs.add_parser("reconcile", help="find anomalies over the whole ledger")
        reconcile.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
        reconcile.add_argument(
            "--master", default=None, help="Spark master URL (default local[*]); spark only"
        )
        generate = subs.add_parser("generate", help="write a synthetic history with anomalies")
        generate.add_argument("--items", type=int, required=True)
        generate.add_argument("--seed", type=int, required=True)
        generate.add_argument("--out", default=None, help="directory for the files")

    def handle(self, *args: Any, **options: Any) -> None:
        with acting_as(label=LABEL):
            getattr(self, f"_{options['sub']}")(options)

    # --- ingest ------------------------------------------------------------------------------
    def _ingest(self, options: dict[str, Any]) -> None:
        from weibao.ledger.ingest import IngestError, ingest_files
        from weibao.ledger.ingest.batch import pipelined

        paths = options["file"]
        for path in paths:
            if not os.path.isfile(path):
                raise CommandError(f"No file at {path}.")
        limit = int(settings.LEDGER_MAX_BATCH_ROWS)
        size = options["batch_rows"] or limit
        if not 1 <= size <= limit:
            raise CommandError(f"--batch-rows is between 1 and {limit}.")
        total = sum(count_rows(path) for path in paths)
        progress = Progress(self.stderr, total)
        progress(0)
        how = (
            "each validated while a writer process wrote the last"
            if pipelined()
            else "one after another"
        )
        started = time.perf_counter()
        try:
            results = ingest_files(paths, batch_rows=size, progress=progress)
        except IngestError as exc:
            progress.close()
            raise CommandError(f"{exc.field}: {exc}") from None
        progress.close()
        rows = sum(r.rows for r in results)
        seconds = time.perf_counter() - started
        rejected = [r for r in results if not r.accepted]
        rate = rows / seconds if seconds else 0.0
        self.stdout.write(
            f"{rows:,} rows in {len(results)} batch(es) ({how}): "
            f"{len(results) - len(rejected)} accepted, {len(rejected)} rejected; "
            f"{seconds:.2f} s ({rate:,.0f} events/s)."
        )
        if not rejected:
            return
        for result in rejected:
            self.stderr.write(
                f"Batch {result.batch.pk} ({result.batch.file_name}) rejected: "
                f"{result.error_count} row(s) in error "
                "(row numbers count from the batch's first row)."
            )
            for error in result.errors[:SHOWN_ERRORS]:
                self.stderr.write(
                    f"  row {error.row}: {error.field}: {error.code}: {error.message}"
                )
        raise CommandError(f"{len(rejected)} batch(es) rejected; nothing of them was written.")

    # --- the helpers' commands ---------------------------------------------------------------
    def _reconcile(self, options: dict[str, Any]) -> None:
        if options["master"] and options["engine"] != "spark":
            raise CommandError("--master is for --engine spark.")
        reconcile = _helper("reconcile")
        try:
            result = reconcile.run(engine=options["engine"], master=options["master"])
        except reconcile.EngineUnavailable as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False, indent=2, default=str))

    def _generate(self, options: dict[str, Any]) -> None:
        if options["items"] < 1:
            raise CommandError("--items is at least 1.")
        try:
            result = _helper("generate").run(
                items=options["items"], seed=options["seed"], out=options["out"]
            )
        except ValueError as exc:  # a history too small to hold every kind of anomaly
            raise CommandError(str(exc)) from None
        if result is not None:
            self.stdout.write(str(result))
