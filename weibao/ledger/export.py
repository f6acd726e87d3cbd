"""Export of the ledger to Parquet, for reconciliation on DuckDB or Spark.

Events are exported incrementally (only those appended since the last run), the small tables in
full every run. Both engines read the same files, and every time is an integer, so they compute
the same results.

Layout of the export directory (`settings.LEDGER_EXPORT_DIR` unless given)::

    watermark.json         {"last_event_id", "last_code", "gaps": [[lo, hi, first_seen]],
                            "parts": [names]}: written last; a part it does not list is removed
    events/part-<first>-<last>.parquet
                           events with ids first..last (12-digit, zero-padded, so a name sort is
                           an id sort), appended by one run; never rewritten
    events-schema.parquet  no rows: the events schema, read while no part exists yet
    items.parquet          current state of every code (item, box, case)
    sites.parquet          sites with their design capacities
    allowances.parquet     purchase-permit allowances per product, with the permit's holder
    counts.parquet         the magazines' declared daily counts
    enterprises.parquet    units with their jurisdiction (division code)
    .lock                  held while a run writes (flock), so two runs never interleave

Columns (Parquet types; every `*_at` is UTC epoch seconds, BIGINT, floored; quantities are
DECIMAL(14,3): pieces for detonators, kg for explosives, m for cord and fuse):

- events: id, batch_id, code, kind, at, recorded_at, enterprise_id, site_id, person_id,
  counterpart_id, project_id, container, product, quantity, purchase_permit, transport_permit,
  latitude, longitude (DOUBLE); empty strings, not nulls, where the ledger has blanks.
- items: code, level, product, quantity, container, state, holder_id, destination_id, site_id,
  producer_id, person_id, project_id, last_event_at, last_event_kind.
- sites: id, enterprise_id, kind, capacity_kg (DECIMAL(14,3)), capacity_detonators (BIGINT).
- allowances: permit_id, number, permit_kind, enterprise_id (the holder), product, quantity.
- counts: site_id, day (local day number: days since 1970-01-01 in Asia/Shanghai, the same
  number the checks compute as `(at + 28800) div 86400`), day_text (YYYY-MM-DD), product,
  quantity.
- enterprises: id, uscc, jurisdiction (6-digit division code).

Events are read in id windows (`id > lo AND id <= hi`), a window at a time, and written as
row groups: the table is never in memory whole. Times and quantities are converted in the
database (SQLite or PostgreSQL) so the Python side only moves integers.

On PostgreSQL, ids are taken before commit: an id below the watermark may still appear when a
slower transaction commits. Missing ids seen while streaming are kept as gaps and looked up again
on later runs for `LEDGER_EXPORT_GAP_HOURS`, after which they are taken for ids of transactions
that rolled back. If the database no longer holds the watermark's last event (a restore, a new
database), the export starts over from nothing.
"""

from __future__ import annotations

import fcntl
import json
import os
import time as clock
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

from weibao.ledger.models import Event, Item, MagazineCount, PermitAllowance
from weibao.registry.models import Enterprise, Site

PART_GLOB = "part-*.parquet"
WATERMARK = "watermark.json"
SCHEMA_FILE = "events-schema.parquet"
SNAPSHOTS = ("items", "sites", "allowances", "counts", "enterprises")
# Rows fetched per round trip and written per row group.
CHUNK_ROWS = 100_000
# A part is closed at this many rows (a first export of a big ledger writes several).
PART_ROWS = 5_000_000
MAX_GAPS = 10_000


@dataclass
class ExportResult:
    events: int = 0  # events written this run (new ones and late ones found in gaps)
    late_events: int = 0  # of which found in earlier gaps
    parts: list[Path] = field(default_factory=list)
    last_event_id: int = 0
    rebuilt: bool = False  # the watermark did not match the database: exported from scratch
    snapshots: dict[str, int] = field(default_factory=dict)  # name → rows
    seconds: float = 0.0


# --- schemas ---------------------------------------------------------------------------------
def _pa() -> Any:
    import pyarrow as pa

    return pa


def quantity_type() -> Any:
    return _pa().decimal128(14, 3)


def events_schema() -> Any:
    pa = _pa()
    return pa.schema(
        [
            ("id", pa.int64()),
            ("batch_id", pa.int64()),
            ("code", pa.string()),
            ("kind", pa.string()),
            ("at", pa.int64()),
            ("recorded_at", pa.int64()),
            ("enterprise_id", pa.int64()),
            ("site_id", pa.int64()),
            ("person_id", pa.int64()),
            ("counterpart_id", pa.int64()),
            ("project_id", pa.int64()),
            ("container", pa.string()),
            ("product", pa.string()),
            ("quantity", quantity_type()),
            ("purchase_permit", pa.string()),
            ("transport_permit", pa.string()),
            ("latitude", pa.float64()),
            ("longitude", pa.float64()),
        ]
    )


def items_schema() -> Any:
    pa = _pa()
    return pa.schema(
        [
            ("code", pa.string()),
            ("level", pa.string()),
            ("product", pa.string()),
            ("quantity", quantity_type()),
            ("container", pa.string()),
            ("state", pa.string()),
            ("holder_id", pa.int64()),
            ("destination_id", pa.int64()),
            ("site_id", pa.int64()),
            ("producer_id", pa.int64()),
            ("person_id", pa.int64()),
            ("project_id", pa.int64()),
            ("last_event_at", pa.int64()),
            ("last_event_kind", pa.string()),
        ]
    )


# --- paths -----------------------------------------------------------------------------------
def export_path(export_dir: str | Path | None = None) -> Path:
    return Path(export_dir) if export_dir is not None else Path(settings.LEDGER_EXPORT_DIR)


def event_parts(export_dir: str | Path | None = None) -> list[Path]:
    """The event part files, in id order."""
    return sorted((export_path(export_dir) / "events").glob(PART_GLOB))


def event_files(export_dir: str | Path | None = None) -> list[Path]:
    """What an engine reads for `events`: the parts, or the empty schema file if none."""
    return event_parts(export_dir) or [export_path(export_dir) / SCHEMA_FILE]


def snapshot_file(name: str, export_dir: str | Path | None = None) -> Path:
    return export_path(export_dir) / f"{name}.parquet"


def _part_name(first: int, last: int) -> str:
    return f"part-{first:012d}-{last:012d}.parquet"


# --- database expressions --------------------------------------------------------------------
def _epoch(column: str) -> str:
    if connection.vendor == "sqlite":
        # Django stores naive UTC text ("YYYY-MM-DD HH:MM:SS[.ffffff]").
        return f"CAST(strftime('%%s', {column}) AS INTEGER)"
    if connection.vendor == "postgresql":
        return f"CAST(FLOOR(EXTRACT(EPOCH FROM {column})) AS BIGINT)"
    raise NotImplementedError(f"ledger export on {connection.vendor}")


def _milli(column: str) -> str:
    # Exact on both: NUMERIC on PostgreSQL; on SQLite the value is stored as INTEGER or REAL
    # with at most 3 decimals, which ROUND brings back to the integer it stands for.
    kind = "INTEGER" if connection.vendor == "sqlite" else "BIGINT"
    return f"CAST(ROUND({column} * 1000) AS {kind})"


def _to_decimal(values: Sequence[int | None]) -> Any:
    """Thousandths (int64) → DECIMAL(14,3), vectorized."""
    pa = _pa()
    import pyarrow.compute as pc

    milli = pa.array(values, pa.int64())
    scaled = pc.multiply(
        pc.cast(milli, pa.decimal128(19, 0)), pa.scalar(Decimal("0.001"), pa.decimal128(4, 3))
    )
    return pc.cast(scaled, quantity_type())


def _table(schema: Any, rows: Sequence[Sequence[Any]]) -> Any:
    """Rows (tuples in schema order, quantities as thousandths) → an Arrow table."""
    pa = _pa()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    arrays = []
    for spec, values in zip(schema, columns, strict=True):
        if spec.type == quantity_type():
            arrays.append(_to_decimal(values))
        else:
            arrays.append(pa.array(values, spec.type))
    return pa.Table.from_arrays(arrays, schema=schema)


# --- events ----------------------------------------------------------------------------------
def _event_select() -> str:
    # Every name comes from the models' metadata or this module, never from input.
    table = Event._meta.db_table
    return (
        "SELECT id, batch_id, code, kind, "  # noqa: S608
        f"{_epoch('at')}, {_epoch('recorded_at')}, enterprise_id, site_id, person_id, "
        f"counterpart_id, project_id, container, product, {_milli('quantity')}, "
        "purchase_permit, transport_permit, latitude, longitude "
        f"FROM {table}"
    )


def _event_windows(lo: int, hi: int, chunk: int) -> Iterator[list[tuple[Any, ...]]]:
    """Rows with lo < id <= hi, in id order, a window of `chunk` ids at a time."""
    sql = f"{_event_select()} WHERE id > %s AND id <= %s ORDER BY id"
    with connection.cursor() as cursor:
        start = lo
        while start < hi:
            end = min(start + chunk, hi)
            cursor.execute(sql, [start, end])
            rows = cursor.fetchall()
            if rows:
                yield rows
            start = end


class _PartWriter:
    """Writes rows to `events/part-<first>-<last>.parquet`, a new part every PART_ROWS rows; a
    part gets its name (and becomes visible to readers) only once it is complete."""

    def __init__(self, folder: Path, part_rows: int) -> None:
        self.folder = folder
        self.part_rows = part_rows
        self.parts: list[Path] = []
        self.rows = 0
        self._writer: Any = None
        self._tmp = folder / f".part-{os.getpid()}.tmp"
        self._first = 0
        self._last = 0
        self._in_part = 0

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        import pyarrow.parquet as pq

        if self._writer is None:
            self._writer = pq.ParquetWriter(self._tmp, events_schema(), compression="zstd")
            self._first = rows[0][0]
            self._in_part = 0
        self._writer.write_table(_table(events_schema(), rows))
        self._last = rows[-1][0]
        self._in_part += len(rows)
        self.rows += len(rows)
        if self._in_part >= self.part_rows:
            self.close()

    def close(self) -> None:
        if self._writer is None:
            return
        self._writer.close()
        self._writer = None
        path = self.folder / _part_name(self._first, self._last)
        os.replace(self._tmp, path)
        self.parts.append(path)


def _gaps(rows: list[tuple[Any, ...]], expected: int, found: list[list[int]]) -> int:
    """Record runs of missing ids in `rows` (sorted by id), starting at `expected`."""
    for row in rows:
        if row[0] > expected:
            found.append([expected, row[0] - 1])
        expected = row[0] + 1
    return expected


def _export_events(
    folder: Path, state: dict[str, Any], result: ExportResult, chunk: int, part_rows: int
) -> None:
    now = int(clock.time())
    keep = settings.LEDGER_EXPORT_GAP_HOURS * 3600
    writer = _PartWriter(folder, part_rows)
    gaps: list[list[int]] = []
    try:
        # Late arrivals in earlier gaps first (their own part: a part is one id-sorted run).
        for lo, hi, seen in state["gaps"]:
            still: list[list[int]] = []
            expected = lo
            for rows in _event_windows(lo - 1, hi, chunk):
                writer.write(rows)
                result.late_events += len(rows)
                expected = _gaps(rows, expected, still)
            if expected <= hi:
                still.append([expected, hi])
            if now - seen < keep:
                gaps += [[a, b, seen] for a, b in still]
        writer.close()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT MAX(id) FROM {Event._meta.db_table}")  # noqa: S608
            top = cursor.fetchone()[0] or 0
        last = state["last_event_id"]
        # A first export starts at the first id there is (sequences need not start at 1).
        expected = last + 1 if last else None
        last_code = state.get("last_code", "")
        for rows in _event_windows(last, top, chunk):
            writer.write(rows)
            new: list[list[int]] = []
            expected = _gaps(rows, rows[0][0] if expected is None else expected, new)
            gaps += [[a, b, now] for a, b in new]
            last, last_code = rows[-1][0], rows[-1][2]
        writer.close()
    finally:
        if writer._writer is not None:
            writer._writer.close()
            writer._tmp.unlink(missing_ok=True)
    state["last_event_id"] = last
    state["last_code"] = last_code
    state["gaps"] = gaps[-MAX_GAPS:]
    state["parts"] = [*state["parts"], *(p.name for p in writer.parts)]
    result.events = writer.rows
    result.parts = writer.parts
    result.last_event_id = last


def _load_state(root: Path) -> dict[str, Any]:
    path = root / WATERMARK
    if path.exists():
        state: dict[str, Any] = json.loads(path.read_text())
    else:
        state = _empty_state()
    return state


def _empty_state() -> dict[str, Any]:
    return {"last_event_id": 0, "last_code": "", "gaps": [], "parts": []}


def _matches_database(state: dict[str, Any]) -> bool:
    if not state["last_event_id"]:
        return True
    found: str | None = (
        Event.objects.filter(pk=state["last_event_id"]).values_list("code", flat=True).first()
    )
    return found is not None and found == state["last_code"]


def _save_state(root: Path, state: dict[str, Any]) -> None:
    tmp = root / f".{WATERMARK}.tmp"
    tmp.write_text(json.dumps(state, ensure_ascii=False, indent=1))
    os.replace(tmp, root / WATERMARK)


# --- snapshots -------------------------------------------------------------------------------
def _write_snapshot(path: Path, schema: Any, batches: Iterator[list[tuple[Any, ...]]]) -> int:
    import pyarrow.parquet as pq

    tmp = path.with_suffix(".parquet.tmp")
    rows = 0
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        for batch in batches:
            writer.write_table(_table(schema, batch))
            rows += len(batch)
        if not rows:
            writer.write_table(_table(schema, []))
    os.replace(tmp, path)
    return rows


def _items(chunk: int) -> Iterator[list[tuple[Any, ...]]]:
    table = Item._meta.db_table
    sql = (
        f"SELECT code, level, product, {_milli('quantity')}, container, state, holder_id, "  # noqa: S608
        "destination_id, site_id, producer_id, person_id, project_id, "
        f"{_epoch('last_event_at')}, last_event_kind FROM {table} "
        "WHERE code > %s ORDER BY code LIMIT %s"
    )
    after = ""
    with connection.cursor() as cursor:
        while True:
            cursor.execute(sql, [after, chunk])
            rows = cursor.fetchall()
            if not rows:
                return
            yield rows
            after = rows[-1][0]


def _small(rows: list[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    if rows:
        yield rows


def _milli_of(value: Decimal | None) -> int | None:
    return None if value is None else int((value * 1000).to_integral_value())


def _snapshots(root: Path, chunk: int) -> dict[str, int]:
    pa = _pa()
    counts: dict[str, int] = {}
    counts["items"] = _write_snapshot(root / "items.parquet", items_schema(), _items(chunk))
    sites = [
        (pk, unit, kind, _milli_of(kg), pieces)
        for pk, unit, kind, kg, pieces in Site.objects.order_by("pk").values_list(
            "pk", "enterprise_id", "kind", "capacity_kg", "capacity_detonators"
        )
    ]
    counts["sites"] = _write_snapshot(
        root / "sites.parquet",
        pa.schema(
            [
                ("id", pa.int64()),
                ("enterprise_id", pa.int64()),
                ("kind", pa.string()),
                ("capacity_kg", quantity_type()),
                ("capacity_detonators", pa.int64()),
            ]
        ),
        _small(sites),
    )
    allowances = [
        (permit, number, kind, unit, product, _milli_of(quantity))
        for permit, number, kind, unit, product, quantity in PermitAllowance.objects.order_by(
            "pk"
        ).values_list(
            "permit_id",
            "permit__number",
            "permit__kind",
            "permit__enterprise_id",
            "product",
            "quantity",
        )
    ]
    counts["allowances"] = _write_snapshot(
        root / "allowances.parquet",
        pa.schema(
            [
                ("permit_id", pa.int64()),
                ("number", pa.string()),
                ("permit_kind", pa.string()),
                ("enterprise_id", pa.int64()),
                ("product", pa.string()),
                ("quantity", quantity_type()),
            ]
        ),
        _small(allowances),
    )
    epoch = date(1970, 1, 1)
    declared = [
        (site, (day - epoch).days, day.isoformat(), product, _milli_of(quantity))
        for site, day, product, quantity in MagazineCount.objects.order_by("pk").values_list(
            "site_id", "day", "product", "quantity"
        )
    ]
    counts["counts"] = _write_snapshot(
        root / "counts.parquet",
        pa.schema(
            [
                ("site_id", pa.int64()),
                ("day", pa.int64()),
                ("day_text", pa.string()),
                ("product", pa.string()),
                ("quantity", quantity_type()),
            ]
        ),
        _small(declared),
    )
    units = list(Enterprise.objects.order_by("pk").values_list("pk", "uscc", "jurisdiction_id"))
    counts["enterprises"] = _write_snapshot(
        root / "enterprises.parquet",
        pa.schema([("id", pa.int64()), ("uscc", pa.string()), ("jurisdiction", pa.string())]),
        _small(units),
    )
    return counts


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    with open(root / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ledger_export(
    *,
    export_dir: str | Path | None = None,
    chunk_rows: int = CHUNK_ROWS,
    part_rows: int = PART_ROWS,
) -> ExportResult:
    """Append the events filed since the last run as new parts and rewrite the snapshots.

    `export_dir` defaults to `settings.LEDGER_EXPORT_DIR`; see the module docstring for the
    layout. Safe to run at any time: a run that fails leaves the previous export readable (part
    files and snapshots appear by rename, the watermark is written last)."""
    import pyarrow.parquet as pq

    started = clock.perf_counter()
    root = export_path(export_dir)
    folder = root / "events"
    folder.mkdir(parents=True, exist_ok=True)
    result = ExportResult()
    with _locked(root):
        state = _load_state(root)
        if not _matches_database(state):
            for part in event_parts(root):
                part.unlink()
            state = _empty_state()
            result.rebuilt = True
        # A part the watermark does not list is left from a run that stopped before saving
        # it: its events are exported again below.
        listed = set(state["parts"])
        for part in event_parts(root):
            if part.name not in listed:
                part.unlink()
        schema_file = root / SCHEMA_FILE
        if not schema_file.exists():
            pq.write_table(_table(events_schema(), []), schema_file)
        _export_events(folder, state, result, chunk_rows, part_rows)
        result.snapshots = _snapshots(root, chunk_rows)
        _save_state(root, state)
    result.seconds = clock.perf_counter() - started
    return result


__all__ = [
    "ExportResult",
    "event_files",
    "event_parts",
    "events_schema",
    "export_path",
    "items_schema",
    "ledger_export",
    "snapshot_file",
]
