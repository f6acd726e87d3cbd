"""One batch, accepted whole or rejected whole; a file, as consecutive batches."""

from __future__ import annotations

import time as clock
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from weibao.ledger.ingest.reading import (
    MAX_REPORTED_ERRORS,
    IngestError,
    Parsed,
    RowError,
    check_header,
    csv_rows,
    decode,
    parse_row,
)
from weibao.ledger.ingest.rules import Rules, _chunks, load_refs, load_states
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

    @property
    def events_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


# --- the batch -------------------------------------------------------------------------------
def ingest_rows(
    rows: Iterable[Mapping[str, Any]],
    *,
    source: str = Batch.Source.API,
    enterprise: Enterprise | None = None,
    user: Any = None,
    file_name: str = "",
    max_rows: int | None = None,
) -> Result:
    """Validate and apply one batch; see the module docstring."""
    started = clock.perf_counter()
    limit = settings.LEDGER_MAX_BATCH_ROWS if max_rows is None else max_rows
    errors: list[RowError] = []
    parsed: list[Parsed] = []
    count = 0
    for number, raw in enumerate(rows, start=1):
        count = number
        if number > limit:
            raise IngestError(
                _("A batch holds at most %(limit)d rows; split the file.") % {"limit": limit},
                field="rows",
            )
        item = parse_row(number, raw, errors)
        if item is not None:
            parsed.append(item)
    if count == 0:
        raise IngestError(_("The batch holds no events."), field="rows")
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
    failed_rows = {e.row for e in errors}
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
    errors += rules.errors
    errors.sort(key=lambda e: e.row)
    received = timezone.now()
    with transaction.atomic():
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
            _write(batch, rules, received)
        batch.seconds = clock.perf_counter() - started
        Batch.objects.filter(pk=batch.pk).update(seconds=batch.seconds)
    return Result(batch, not errors, count, errors, len(errors), batch.seconds)


def _write(batch: Batch, rules: Rules, received: datetime) -> None:
    adapt = connection.ops.adapt_datetimefield_value
    event_table = Event._meta.db_table
    columns = (
        "batch_id, code, kind, at, recorded_at, enterprise_id, site_id, person_id, "
        "counterpart_id, project_id, container, product, quantity, purchase_permit, "
        "transport_permit, latitude, longitude"
    )
    marks = ", ".join(["%s"] * 17)
    stamp = adapt(received)
    # Raw executemany for volume; every name in these statements comes from the models' own
    # metadata, never from input, and every value is a bound parameter.
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {event_table} ({columns}) VALUES ({marks})",  # noqa: S608
            [
                (
                    batch.pk,
                    e.row.code,
                    e.row.kind,
                    adapt(e.row.at),
                    adapt(e.row.recorded_at) if e.row.recorded_at else stamp,
                    e.unit,
                    e.site,
                    e.person,
                    e.counterpart,
                    e.project,
                    e.row.container,
                    e.product,
                    str(e.quantity),
                    e.row.purchase_permit,
                    e.row.transport_permit,
                    e.row.latitude,
                    e.row.longitude,
                )
                for e in rules.events
            ],
        )
        item_table = Item._meta.db_table
        names = [f.column for f in Item._meta.concrete_fields]
        attnames = [f.attname for f in Item._meta.concrete_fields]
        updates = ", ".join(f"{n} = excluded.{n}" for n in names if n != "code")
        cursor.executemany(
            f"INSERT INTO {item_table} ({', '.join(names)}) VALUES "  # noqa: S608
            f"({', '.join(['%s'] * len(names))}) ON CONFLICT (code) DO UPDATE SET {updates}",
            [
                tuple(
                    adapt(v) if isinstance(v, datetime) else str(v) if isinstance(v, Decimal) else v
                    for v in (getattr(s, name) for name in attnames)
                )
                for s in rules.states.values()
                if s.changed
            ],
        )
    bounds = Event.objects.filter(batch=batch).order_by("id").values_list("id", flat=True)
    first, last = bounds.first(), bounds.last()
    batch.first_event_id, batch.last_event_id = first, last
    Batch.objects.filter(pk=batch.pk).update(first_event_id=first, last_event_id=last)


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
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        check_header([name.lower() for name in parquet.schema_arrow.names])
        for record_batch in parquet.iter_batches(batch_size=size):
            yield record_batch.to_pylist()
        return
    with open(path, "rb") as handle:
        text = decode(handle.read())
    chunk: list[dict[str, Any]] = []
    for row in csv_rows(text):
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def local_day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(day, datetime.min.time()))
    return start, start + timedelta(days=1)
