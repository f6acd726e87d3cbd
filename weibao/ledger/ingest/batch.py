"""One batch, accepted whole or rejected whole; a file, as consecutive batches."""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import threading
import time as clock
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, cast

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
    State,
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
# A state's row, in STATE_COLUMNS order.
STATE_VALUES = attrgetter(*STATE_COLUMNS)


_pauses = 0
_pauses_lock = threading.Lock()
_enabled_before = True


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for the duration (also as a decorator). A batch
    allocates millions of small objects that form no cycles (rows, states, events); with the
    collector on, it scans them again and again as they pile up: a file of 200,000 items
    (907,016 events) went in at 17,363 events/s with it, 24,671 without it. Pauses
    nest and may overlap across threads: the collector is back as it was when the last ends,
    and one collection of the young objects then frees whatever cycles were made."""
    global _pauses, _enabled_before  # one collector per process
    with _pauses_lock:
        if _pauses == 0:
            _enabled_before = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pauses_lock:
            _pauses -= 1
            if _pauses == 0 and _enabled_before:
                gc.enable()


@collector_paused()
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
    parsed, form_errors, count = parse_rows(rows, max_rows)
    read = clock.perf_counter()
    watermark = last_event_id()
    rules, errors = validate(parsed, form_errors, enterprise)
    with transaction.atomic():
        lock()
        if last_event_id() != watermark:
            rules, errors = validate(parsed, form_errors, enterprise)
        validated = clock.perf_counter()
        received = timezone.now()
        batch = file_batch(
            Filing(
                source=source,
                enterprise_id=enterprise.pk if enterprise is not None else None,
                user_id=user.pk if getattr(user, "is_authenticated", False) else None,
                file_name=file_name,
                rows=count,
                errors=errors,
                received=received,
                plan=None if errors else plan(rules, received),
                spent=validated - started,
            )
        )
    # The objects at hand, so that whoever shows the batch does not load them again.
    batch.enterprise = enterprise
    if batch.submitted_by_id is not None:
        batch.submitted_by = user
    phases = {
        "form checks": read - started,
        "validate": validated - read,
        "write": clock.perf_counter() - validated,
    }
    return Result(batch, not errors, count, errors, len(errors), batch.seconds, phases)


def parse_rows(
    rows: Iterable[Mapping[str, Any]], max_rows: int | None = None
) -> tuple[list[Parsed], list[RowError], int]:
    """The rows' form checks: the parsed rows, the rows' form errors, and how many rows."""
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
    return parsed, form_errors, count


@dataclass(slots=True)
class Filing:
    """A validated batch, ready to be filed: rejected with its errors, or accepted with its
    plan. `spent`: the seconds its form checks and validation took."""

    source: str
    enterprise_id: int | None
    user_id: int | None
    file_name: str
    rows: int
    errors: list[RowError]
    received: datetime
    plan: Plan | None
    spent: float


def file_batch(filing: Filing) -> Batch:
    """Store the batch, and write its plan if it was accepted; in the caller's transaction,
    under the ingest lock."""
    started = clock.perf_counter()
    errors = filing.errors
    batch = Batch.objects.create(
        status=Batch.Status.REJECTED if errors else Batch.Status.ACCEPTED,
        source=filing.source,
        enterprise_id=filing.enterprise_id,
        submitted_by_id=filing.user_id,
        file_name=filing.file_name[:300],
        rows=filing.rows,
        error_count=len(errors),
        errors=[e.as_dict() for e in errors[:MAX_REPORTED_ERRORS]],
        created_at=filing.received,
    )
    if filing.plan is not None:
        _apply(batch, filing.plan)
    batch.seconds = filing.spent + clock.perf_counter() - started
    Batch.objects.filter(pk=batch.pk).update(
        seconds=batch.seconds,
        first_event_id=batch.first_event_id,
        last_event_id=batch.last_event_id,
    )
    return batch


def last_event_id() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(id) FROM {Event._meta.db_table}")  # noqa: S608
        row = cursor.fetchone()
    return int(row[0] or 0) if row else 0


def lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [INGEST_LOCK])


@dataclass(slots=True)
class Carry:
    """What a batch still being written leaves for the next one's validation: the states it
    tracked (as they will be once it is written), the chip UIDs it took, and its productions."""

    states: dict[str, State]
    uids: set[str]
    filed: set[tuple[str, str, datetime]]


def carry_over(rules: Rules) -> Carry:
    """Hand a validated batch's states on, once its rows are planned: each changed state is
    from now on the row as that batch writes it."""
    for state in rules.states.values():
        if state.changed:
            state.loaded = STATE_VALUES(state)
            state.changed = False
    filed = {
        (e.row.code, e.row.kind, e.row.at) for e in rules.events if e.row.kind == EventKind.PRODUCED
    }
    return Carry(rules.states, rules.uids_taken, filed)


def validate(
    parsed: list[Parsed],
    form_errors: list[RowError],
    enterprise: Enterprise | None,
    carried: Carry | None = None,
) -> tuple[Rules, list[RowError]]:
    """Replay the parsed rows against the ledger as it is now (and as a batch still being
    written leaves it: `carried`); the batch's errors, by row."""
    refs = load_refs(parsed)
    codes = {r.code for r in parsed} | {r.container for r in parsed if r.container}
    states = load_states(codes, carried.states if carried else None)
    new_uids = {r.chip_uid for r in parsed if r.chip_uid}
    taken: set[str] = set(carried.uids & new_uids) if carried else set()
    for chunk in _chunks(new_uids - taken):
        taken.update(
            uid
            for uid in Item.objects.filter(chip_uid__in=chunk).values_list("chip_uid", flat=True)
            if uid
        )
    # A production row on a code already in the ledger is either a resent batch (the same
    # event: refused as a duplicate) or a second production (kept as "code used twice").
    filed: set[tuple[str, str, datetime]] = set(carried.filed) if carried else set()
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
    faster than `adapt_datetimefield_value` and gives the same text. PostgreSQL's COPY reads
    ISO 8601 text with its offset: as text, a plan is also several times cheaper to hand to the
    writer process than with aware datetimes in it."""
    if connection.vendor == "postgresql":
        return datetime.isoformat
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
    new: list[list[Any]] = []
    updated: list[tuple[tuple[int, ...], list[Any]]] = []
    for state in rules.states.values():
        if not state.changed:
            continue
        row = list(STATE_VALUES(state))
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
    "code, kind, at, recorded_at, enterprise_id, site_id, person_id, "
    "counterpart_id, project_id, container, product, quantity, purchase_permit, "
    "transport_permit, latitude, longitude"
)


@dataclass(slots=True)
class Plan:
    """What an accepted batch writes, as the database takes it: its events (without the batch
    id, which the write adds), the rows of codes new in it, and the changed rows of the others
    with the columns that changed in each."""

    events: list[tuple[Any, ...]]
    new: list[list[Any]]
    updated: list[tuple[tuple[int, ...], list[Any]]]


def plan(rules: Rules, received: datetime) -> Plan:
    adapt = _time_adapter()
    new, updated = _state_rows(rules, adapt)
    return Plan(_event_rows(received, rules, adapt), new, updated)


def _apply(batch: Batch, planned: Plan) -> None:
    before = last_event_id()
    if connection.vendor == "postgresql":
        _write_postgresql(batch, planned)
    else:
        _write_rows(batch, planned)
    # The lock makes this batch's ids the only ones above `before`.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT MIN(id), MAX(id) FROM {Event._meta.db_table} WHERE id > %s",  # noqa: S608
            [before],
        )
        bounds = cursor.fetchone()
    batch.first_event_id, batch.last_event_id = bounds if bounds else (None, None)


def _event_rows(
    received: datetime, rules: Rules, adapt: Callable[[datetime], Any]
) -> list[tuple[Any, ...]]:
    stamp = adapt(received)
    return [
        (
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


def _write_rows(batch: Batch, planned: Plan) -> None:
    """SQLite (and any other database): `executemany`, one UPDATE per set of changed columns."""
    item_table = Item._meta.db_table
    # Raw executemany for volume; every name in these statements comes from the models' own
    # metadata, never from input, the batch id is an integer primary key, and every other
    # value is a bound parameter.
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {Event._meta.db_table} (batch_id, {EVENT_COLUMNS}) "  # noqa: S608
            f"VALUES ({int(batch.pk)}, {', '.join(['%s'] * 16)})",
            planned.events,
        )
        cursor.executemany(
            f"INSERT INTO {item_table} ({', '.join(STATE_COLUMNS)}) "  # noqa: S608
            f"VALUES ({', '.join(['%s'] * len(STATE_COLUMNS))})",
            planned.new,
        )
        # One UPDATE per set of changed columns: SQLite then maintains only the indexes of what
        # changed (an upsert of every column costs five times as much).
        groups: dict[tuple[int, ...], list[list[Any]]] = {}
        code = STATE_COLUMNS.index("code")
        for changed, row in planned.updated:
            groups.setdefault(changed, []).append([row[i] for i in changed] + [row[code]])
        for changed, rows in groups.items():
            assignments = ", ".join(f"{STATE_COLUMNS[i]} = %s" for i in changed)
            cursor.executemany(
                f"UPDATE {item_table} SET {assignments} WHERE code = %s",  # noqa: S608
                rows,
            )


def _write_postgresql(batch: Batch, planned: Plan) -> None:
    """PostgreSQL: COPY the events; COPY the new and changed states into a temporary table,
    then one INSERT of the new codes and one UPDATE of the others from it (`executemany` costs a
    round trip per row there: several times slower). PostgreSQL writes a whole new row version
    on any update, so one UPDATE of every changed column loses nothing to grouping."""
    item_table = Item._meta.db_table
    columns = ", ".join(STATE_COLUMNS)
    mutable = ", ".join(f"{STATE_COLUMNS[i]} = s.{STATE_COLUMNS[i]}" for i in MUTABLE_STATE)
    batch_id = batch.pk
    # Every name here comes from the models' metadata; the values travel in COPY's data.
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        with raw.copy(
            f"COPY {Event._meta.db_table} (batch_id, {EVENT_COLUMNS}) FROM STDIN"
        ) as copy:
            for event in planned.events:
                copy.write_row((batch_id, *event))
        cursor.execute(
            "CREATE TEMPORARY TABLE ingest_state ON COMMIT DROP AS "  # noqa: S608
            f"SELECT {columns}, FALSE AS is_new FROM {item_table} WITH NO DATA"
        )
        with raw.copy(f"COPY ingest_state ({columns}, is_new) FROM STDIN") as copy:
            for state in planned.new:
                copy.write_row([*state, True])
            for _changed, state in planned.updated:
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
    return ingest_files([path], batch_rows=batch_rows, progress=progress, user=user)


def ingest_files(
    paths: Sequence[str],
    *,
    batch_rows: int | None = None,
    progress: Any = None,
    user: Any = None,
) -> list[Result]:
    """Files one after another (a history in parts), as one stream of batches: where it can,
    the next batch is validated while the last one is written (pipeline.py). A file that cannot
    be read stops the stream at its first bad batch; the batches before it stay filed."""
    size = batch_rows or settings.LEDGER_MAX_BATCH_ROWS
    chunks = ((path, chunk) for path in paths for chunk in _file_chunks(path, size))
    if pipelined():
        from weibao.ledger.ingest.pipeline import ingest_chunks

        return ingest_chunks(chunks, size=size, user=user, progress=progress)
    widen_cache()
    results = []
    done = 0
    for path, chunk in chunks:
        result = ingest_rows(
            chunk, source=Batch.Source.FILE, user=user, file_name=path, max_rows=size
        )
        results.append(result)
        done += result.rows
        if progress is not None:
            progress(done)
    return results


def widen_cache() -> None:
    """On SQLite, give this connection the page cache a file's ingest wants
    (LEDGER_INGEST_SQLITE_CACHE_MB): at national scale the item table and its indexes are some
    450 MB, and with the default 64 MB an update of a current state took 24.6 µs against 16.7
    with 512 MB (2,000,000 items). Memory is taken as pages are read."""
    if connection.vendor == "sqlite":
        kib = int(settings.LEDGER_INGEST_SQLITE_CACHE_MB) * 1024
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = -{kib:d}")


def pipelined() -> bool:
    """Whether a file's batches go to a writer process (LEDGER_INGEST_PIPELINE): not inside a
    transaction (the writer could not see it), nor on an in-memory database (nor could it)."""
    return (
        settings.LEDGER_INGEST_PIPELINE
        and not connection.in_atomic_block
        and not (connection.vendor == "sqlite" and cast(Any, connection).is_in_memory_db())
        and "fork" in multiprocessing.get_all_start_methods()
    )


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
