"""One batch, accepted whole or rejected whole; a file, as consecutive batches."""

from __future__ import annotations

import time as clock
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from weibao.ledger.ingest.reading import (
    ENCODING_NAMES,
    MAX_REPORTED_ERRORS,
    SNIFF_BYTES,
    IngestError,
    Parsed,
    RowError,
    check_header,
    csv_rows,
    parse_row,
    sniff_encoding,
)
from weibao.ledger.ingest.rules import (
    LAST_EVENT_AT,
    QUANTITY,
    STATE_COLUMNS,
    Rules,
    _chunks,
    load_refs,
    load_states,
)
from weibao.ledger.models import (
    Batch,
    Event,
    EventKind,
    Item,
)
from weibao.registry.models import Enterprise


@dataclass
class Result:
    batch: Batch
    accepted: bool
    rows: int
    errors: list[RowError]
    error_count: int
    seconds: float
    # Where the time went: the rows' form checks, validation (references, states, rules; a
    # second one if another batch was written meanwhile), writing (events, states, the batch).
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def events_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


# --- the batch -------------------------------------------------------------------------------
# Ingest writers take this PostgreSQL advisory lock for their write transaction (SQLite has one
# writer anyway: the settings begin transactions IMMEDIATE).
INGEST_LOCK = 0x7765_6962_616F  # "weibao"


def ingest_rows(
    rows: Iterable[Mapping[str, Any]],
    *,
    source: str = Batch.Source.API,
    enterprise: Enterprise | None = None,
    user: Any = None,
    file_name: str = "",
    max_rows: int | None = None,
) -> Result:
    """Validate and apply one batch; see the package docstring.

    Validation reads the current states without holding the write lock, so batches are checked
    in parallel; the write transaction then takes the lock and, if any event was written since
    the states were read, validates the batch again under it before writing."""
    started = clock.perf_counter()
    limit = settings.LEDGER_MAX_BATCH_ROWS if max_rows is None else max_rows
    now = timezone.now()
    form_errors: list[RowError] = []
    parsed: list[Parsed] = []
    count = 0
    for number, raw in enumerate(rows, start=1):
        count = number
        if number > limit:
            raise IngestError(
                _("A batch holds at most %(limit)d rows; split the file.") % {"limit": limit},
                field="rows",
            )
        item = parse_row(number, raw, form_errors, now)
        if item is not None:
            parsed.append(item)
    if count == 0:
        raise IngestError(_("The batch holds no events."), field="rows")
    read = clock.perf_counter()
    watermark = _last_event_id()
    rules, errors = _validate(parsed, form_errors, enterprise)
    with transaction.atomic():
        _lock()
        if _last_event_id() != watermark:
            rules, errors = _validate(parsed, form_errors, enterprise)
        validated = clock.perf_counter()
        received = timezone.now()
        batch = Batch.objects.create(
            status=Batch.Status.REJECTED if errors else Batch.Status.ACCEPTED,
            source=source,
            enterprise=enterprise,
            submitted_by=user if getattr(user, "is_authenticated", False) else None,
            file_name=file_name[:300],
            rows=count,
            error_count=len(errors),
            errors=[e.as_dict() for e in errors[:MAX_REPORTED_ERRORS]],
            created_at=received,
        )
        if not errors:
            _write(batch, rules)
        batch.seconds = clock.perf_counter() - started
        Batch.objects.filter(pk=batch.pk).update(
            seconds=batch.seconds,
            first_event_id=batch.first_event_id,
            last_event_id=batch.last_event_id,
        )
    phases = {
        "form checks": read - started,
        "validate": validated - read,
        "write": clock.perf_counter() - validated,
    }
    return Result(batch, not errors, count, errors, len(errors), batch.seconds, phases)


def _last_event_id() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(id) FROM {Event._meta.db_table}")  # noqa: S608
        row = cursor.fetchone()
    return int(row[0] or 0) if row else 0


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [INGEST_LOCK])


def _validate(
    parsed: list[Parsed], form_errors: list[RowError], enterprise: Enterprise | None
) -> tuple[Rules, list[RowError]]:
    """Replay the parsed rows against the ledger as it is now; the batch's errors, by row."""
    refs = load_refs(parsed)
    codes = {r.code for r in parsed} | {r.container for r in parsed if r.container}
    states = load_states(codes)
    new_uids = {r.chip_uid for r in parsed if r.chip_uid}
    taken: set[str] = set()
    for chunk in _chunks(new_uids):
        taken.update(
            uid
            for uid in Item.objects.filter(chip_uid__in=chunk).values_list("chip_uid", flat=True)
            if uid
        )
    # A production row on a code already in the ledger is either a resent batch (the same
    # event: refused as a duplicate) or a second production (kept as "code used twice").
    filed: set[tuple[str, str, datetime]] = set()
    again = {r.code for r in parsed if r.kind == EventKind.PRODUCED and r.code in states}
    for chunk in _chunks(again):
        filed.update(
            (code, kind, moment)
            for code, kind, moment in Event.objects.filter(
                code__in=chunk, kind=EventKind.PRODUCED
            ).values_list("code", "kind", "at")
        )
    rules = Rules(refs, states, taken, filed)
    failed_rows = {e.row for e in form_errors}
    if enterprise is not None:
        for row in parsed:
            if refs.units.get(row.unit) != enterprise.pk:
                rules.fail(row, "unit", "not_your_unit", _("A unit files only its own events."))
                failed_rows.add(row.row)
    for row in parsed:
        if row.row in failed_rows:
            continue
        before = len(rules.errors)
        rules.apply(row)
        if len(rules.errors) > before:
            failed_rows.add(row.row)
    errors = form_errors + rules.errors
    errors.sort(key=lambda e: e.row)
    return rules, errors


def _time_adapter() -> Callable[[datetime], Any]:
    """Datetimes as the database takes them. On SQLite Django stores naive UTC text
    (`str()` of the naive time in the connection's zone); doing that directly is four times
    faster than `adapt_datetimefield_value` and gives the same text."""
    if connection.vendor == "sqlite" and connection.timezone_name == "UTC":

        def sqlite_time(value: datetime) -> str:
            return value.astimezone(UTC).isoformat(" ")[:-6]  # without "+00:00"

        return sqlite_time
    return connection.ops.adapt_datetimefield_value


# Columns a later event may change; the rest of a row is fixed when the code is first seen.
MUTABLE_STATE = tuple(
    STATE_COLUMNS.index(name)
    for name in (
        "quantity",
        "container",
        "state",
        "holder_id",
        "destination_id",
        "site_id",
        "person_id",
        "project_id",
        "last_event_at",
        "last_event_kind",
    )
)


def _state_rows(
    rules: Rules, adapt: Callable[[datetime], Any]
) -> tuple[list[list[Any]], list[tuple[tuple[int, ...], list[Any]]]]:
    """The rows to insert (codes new in this batch), and the rows to update with the columns
    that changed in each (unchanged states are left out)."""
    values = attrgetter(*STATE_COLUMNS)
    new: list[list[Any]] = []
    updated: list[tuple[tuple[int, ...], list[Any]]] = []
    for state in rules.states.values():
        if not state.changed:
            continue
        row = list(values(state))
        loaded = state.loaded
        # Compared as values (a quantity of 1 equals 1.000), written as the database takes them.
        changed = () if loaded is None else tuple(i for i in MUTABLE_STATE if row[i] != loaded[i])
        row[QUANTITY] = str(row[QUANTITY])
        row[LAST_EVENT_AT] = adapt(row[LAST_EVENT_AT])
        if loaded is None:
            new.append(row)
        elif changed:
            updated.append((changed, row))
    return new, updated


EVENT_COLUMNS = (
    "batch_id, code, kind, at, recorded_at, enterprise_id, site_id, person_id, "
    "counterpart_id, project_id, container, product, quantity, purchase_permit, "
    "transport_permit, latitude, longitude"
)


def _write(batch: Batch, rules: Rules) -> None:
    before = _last_event_id()
    if connection.vendor == "postgresql":
        _write_postgresql(batch, rules)
    else:
        _write_rows(batch, rules)
    # The lock makes this batch's ids the only ones above `before`.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT MIN(id), MAX(id) FROM {Event._meta.db_table} WHERE id > %s",  # noqa: S608
            [before],
        )
        bounds = cursor.fetchone()
    batch.first_event_id, batch.last_event_id = bounds if bounds else (None, None)


def _event_rows(
    batch: Batch, rules: Rules, adapt: Callable[[datetime], Any]
) -> list[tuple[Any, ...]]:
    stamp = adapt(batch.created_at)
    batch_id = batch.pk
    return [
        (
            batch_id,
            row.code,
            row.kind,
            adapt(row.at),
            adapt(row.recorded_at) if row.recorded_at else stamp,
            e.unit,
            e.site,
            e.person,
            e.counterpart,
            e.project,
            row.container,
            e.product,
            str(e.quantity),
            row.purchase_permit,
            row.transport_permit,
            row.latitude,
            row.longitude,
        )
        for e in rules.events
        for row in (e.row,)
    ]


def _write_rows(batch: Batch, rules: Rules) -> None:
    """SQLite (and any other database): `executemany`, one UPDATE per set of changed columns."""
    adapt = _time_adapter()
    marks = ", ".join(["%s"] * 17)
    item_table = Item._meta.db_table
    # Raw executemany for volume; every name in these statements comes from the models' own
    # metadata, never from input, and every value is a bound parameter.
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {Event._meta.db_table} ({EVENT_COLUMNS}) VALUES ({marks})",  # noqa: S608
            _event_rows(batch, rules, adapt),
        )
        new, updated = _state_rows(rules, adapt)
        cursor.executemany(
            f"INSERT INTO {item_table} ({', '.join(STATE_COLUMNS)}) "  # noqa: S608
            f"VALUES ({', '.join(['%s'] * len(STATE_COLUMNS))})",
            new,
        )
        # One UPDATE per set of changed columns: SQLite then maintains only the indexes of what
        # changed (an upsert of every column costs five times as much).
        groups: dict[tuple[int, ...], list[list[Any]]] = {}
        code = STATE_COLUMNS.index("code")
        for changed, row in updated:
            groups.setdefault(changed, []).append([row[i] for i in changed] + [row[code]])
        for changed, rows in groups.items():
            assignments = ", ".join(f"{STATE_COLUMNS[i]} = %s" for i in changed)
            cursor.executemany(
                f"UPDATE {item_table} SET {assignments} WHERE code = %s",  # noqa: S608
                rows,
            )


def _write_postgresql(batch: Batch, rules: Rules) -> None:
    """PostgreSQL: COPY the events; COPY the new and changed states into a temporary table,
    then one INSERT of the new codes and one UPDATE of the others from it (`executemany` costs a
    round trip per row there: several times slower). PostgreSQL writes a whole new row version
    on any update, so one UPDATE of every changed column loses nothing to grouping."""
    same = connection.ops.adapt_datetimefield_value  # aware datetimes go as they are
    item_table = Item._meta.db_table
    new, updated = _state_rows(rules, same)
    columns = ", ".join(STATE_COLUMNS)
    mutable = ", ".join(f"{STATE_COLUMNS[i]} = s.{STATE_COLUMNS[i]}" for i in MUTABLE_STATE)
    # Every name here comes from the models' metadata; the values travel in COPY's data.
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        with raw.copy(f"COPY {Event._meta.db_table} ({EVENT_COLUMNS}) FROM STDIN") as copy:
            for event in _event_rows(batch, rules, same):
                copy.write_row(event)
        cursor.execute(
            "CREATE TEMPORARY TABLE ingest_state ON COMMIT DROP AS "  # noqa: S608
            f"SELECT {columns}, FALSE AS is_new FROM {item_table} WITH NO DATA"
        )
        with raw.copy(f"COPY ingest_state ({columns}, is_new) FROM STDIN") as copy:
            for state in new:
                copy.write_row([*state, True])
            for _changed, state in updated:
                copy.write_row([*state, False])
        cursor.execute(
            f"INSERT INTO {item_table} ({columns}) "  # noqa: S608
            f"SELECT {columns} FROM ingest_state WHERE is_new"
        )
        cursor.execute(
            f"UPDATE {item_table} AS i SET {mutable} FROM ingest_state AS s "  # noqa: S608
            "WHERE NOT s.is_new AND i.code = s.code"
        )
        cursor.execute("DROP TABLE ingest_state")


def ingest_file(
    path: str,
    *,
    batch_rows: int | None = None,
    progress: Any = None,
    user: Any = None,
) -> list[Result]:
    """A CSV (UTF-8 or GBK) or Parquet file of any size, in batches of `batch_rows` rows, each
    accepted or rejected whole. `progress(rows_done)` is called after each batch."""
    size = batch_rows or settings.LEDGER_MAX_BATCH_ROWS
    results = []
    done = 0
    for chunk in _file_chunks(path, size):
        result = ingest_rows(
            chunk, source=Batch.Source.FILE, user=user, file_name=path, max_rows=size
        )
        results.append(result)
        done += result.rows
        if progress is not None:
            progress(done)
    return results


def _file_chunks(path: str, size: int) -> Iterator[list[dict[str, Any]]]:
    if path.lower().endswith(".parquet"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            parquet = pq.ParquetFile(path)
            check_header([name.lower() for name in parquet.schema_arrow.names])
            for record_batch in parquet.iter_batches(batch_size=size):
                yield record_batch.to_pylist()
        except (OSError, pa.ArrowException) as exc:
            raise IngestError(
                _("The Parquet file cannot be read (%(error)s).") % {"error": exc}
            ) from None
        return
    with open(path, "rb") as handle:
        encoding = sniff_encoding(handle.read(SNIFF_BYTES))
        handle.seek(0)
        chunk: list[dict[str, Any]] = []
        for row in csv_rows(_decoded_lines(handle, encoding)):
            chunk.append(row)
            if len(chunk) == size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def _decoded_lines(handle: Iterable[bytes], encoding: str) -> Iterator[str]:
    """The file's lines as text, decoded one by one so that a line that is not text in the
    file's encoding is named exactly (no byte of a UTF-8 or GB 18030 character is a newline)."""
    rest = "utf-8" if encoding == "utf-8-sig" else encoding  # a BOM only opens the file
    for number, raw in enumerate(handle, start=1):
        try:
            yield raw.decode(encoding if number == 1 else rest)
        except UnicodeDecodeError:
            raise IngestError(
                _("Line %(line)d of the file is not %(encoding)s text.")
                % {"line": number, "encoding": ENCODING_NAMES[encoding]}
            ) from None
