"""Writing a generated history: event parts (CSV or Parquet, at most 100,000 rows each, in time
order), the declared daily counts, and loading those counts into the database."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from weibao.ledger.ingest import COLUMNS
from weibao.ledger.models import MagazineCount

PART_ROWS = 100_000
COUNT_COLUMNS = ("site", "day", "product", "quantity")
# "HH:MM:SS+08:00" for every second of a day: times are written as day prefix + this.
_CLOCK: list[str] = []


def clock() -> list[str]:
    if not _CLOCK:
        _CLOCK.extend(
            f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+08:00" for s in range(86400)
        )
    return _CLOCK


def milli_text(milli: int) -> str:
    """A quantity kept in thousandths, as the decimal text ingest reads."""
    whole, part = divmod(milli, 1000)
    return str(whole) if part == 0 else f"{whole}.{part:03d}".rstrip("0")


class EventWriter:
    """Rows (tuples in COLUMNS order) arrive in time order and go to numbered parts."""

    def __init__(self, out: Path, fmt: str, part_rows: int = PART_ROWS) -> None:
        if fmt not in ("csv", "parquet"):
            raise ValueError("fmt is csv or parquet")
        self.out, self.fmt, self.part_rows = out, fmt, part_rows
        self.paths: list[Path] = []
        self.rows = 0
        self._pending: list[tuple[str, ...]] = []  # parquet: the part being filled
        self._handle: Any = None
        self._csv: Any = None
        self._in_part = 0

    def _next_path(self) -> Path:
        path = self.out / f"events-{len(self.paths) + 1:05d}.{self.fmt}"
        self.paths.append(path)
        return path

    def write(self, rows: Sequence[tuple[str, ...]]) -> None:
        self.rows += len(rows)
        if self.fmt == "parquet":
            self._pending.extend(rows)
            while len(self._pending) >= self.part_rows:
                self._parquet(self._pending[: self.part_rows])
                del self._pending[: self.part_rows]
            return
        done = 0
        while done < len(rows):
            if self._handle is None:
                self._handle = self._next_path().open("w", encoding="utf-8", newline="")
                self._csv = csv.writer(self._handle, lineterminator="\n")
                self._csv.writerow(COLUMNS)
                self._in_part = 0
            take = min(len(rows) - done, self.part_rows - self._in_part)
            self._csv.writerows(rows[done : done + take])
            done += take
            self._in_part += take
            if self._in_part == self.part_rows:
                self._handle.close()
                self._handle = None

    def _parquet(self, rows: Sequence[tuple[str, ...]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = list(zip(*rows, strict=True)) if rows else [() for _c in COLUMNS]
        table = pa.table(
            {
                name: pa.array(values, type=pa.string())
                for name, values in zip(COLUMNS, columns, strict=True)
            }
        )
        pq.write_table(table, self._next_path(), compression="zstd")

    def close(self) -> list[Path]:
        if self.fmt == "parquet":
            if self._pending:
                self._parquet(self._pending)
                self._pending = []
        elif self._handle is not None:
            self._handle.close()
            self._handle = None
        return self.paths


def write_counts(path: Path, rows: Iterable[tuple[int, date, str, int]]) -> int:
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COUNT_COLUMNS)
        for site, day, product, milli in rows:
            writer.writerow((site, day.isoformat(), product, milli_text(milli)))
            count += 1
    return count


def load_counts(path: str | Path, *, chunk: int = 5000) -> int:
    """Load a generated counts file (site, day, product, quantity) as declared daily magazine
    counts; rows already there are left alone. Returns how many were created."""
    before = MagazineCount.objects.count()
    with Path(path).open(encoding="utf-8", newline="") as handle, transaction.atomic():
        reader = csv.DictReader(handle)
        batch: list[MagazineCount] = []
        for row in reader:
            day = date.fromisoformat(row["day"])
            batch.append(
                MagazineCount(
                    site_id=int(row["site"]),
                    day=day,
                    product=row["product"],
                    quantity=Decimal(row["quantity"]),
                    # The custodian closes the day's books in the evening.
                    recorded_at=timezone.make_aware(datetime.combine(day, time(22))),
                )
            )
            if len(batch) == chunk:
                MagazineCount.objects.bulk_create(batch, ignore_conflicts=True)
                batch = []
        MagazineCount.objects.bulk_create(batch, ignore_conflicts=True)
    return MagazineCount.objects.count() - before
