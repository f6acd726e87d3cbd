"""Reading a batch: the file (UTF-8 or GBK CSV, Parquet), its header, and the form checks of
each row (codes, times, positions, quantities). References are resolved in rules.py."""

from __future__ import annotations

import codecs
import csv
import io
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from weibao.ledger.codes import package_code_error, shell_code_error, uid_error
from weibao.ledger.models import (
    DETONATORS,
    EventKind,
    ProductKind,
)

COLUMNS = (
    "code",
    "event",
    "at",
    "unit",
    "site",
    "person",
    "counterpart",
    "project",
    "container",
    "purchase_permit",
    "transport_permit",
    "latitude",
    "longitude",
    "product",
    "quantity",
    "chip_uid",
    "recorded_at",
)
REQUIRED_COLUMNS = ("code", "event", "at", "unit")
MAX_REPORTED_ERRORS = 1000


# From which states each event may be applied (the item's own state, or its box's or case's).
class IngestError(Exception):
    """A batch that cannot be read at all (wrong header, encoding, too many rows)."""

    def __init__(self, message: str, field: str = "file") -> None:
        super().__init__(message)
        self.field = field


@dataclass
class RowError:
    row: int  # 1-based data row (the CSV header is row 0)
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "code": self.code, "message": self.message}


@dataclass(slots=True)
class Parsed:
    """One row after the form checks; references are resolved later."""

    row: int
    code: str
    kind: str
    at: datetime
    unit: str
    site: int | None
    person: str
    counterpart: str
    project: str
    container: str
    purchase_permit: str
    transport_permit: str
    latitude: float | None
    longitude: float | None
    product: str
    quantity: Decimal | None
    chip_uid: str
    recorded_at: datetime | None


# --- reading ---------------------------------------------------------------------------------
# Enough of a file to tell UTF-8 from GBK: Chinese text shows within the first lines.
SNIFF_BYTES = 1 << 20
ENCODING_NAMES = {"utf-8-sig": "UTF-8", "gb18030": "GBK"}


def sniff_encoding(head: bytes) -> str:
    """The encoding of a file from its first bytes (`head` may end inside a character)."""
    try:
        codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(head, final=False)
        return "gb18030"
    except UnicodeDecodeError:
        raise IngestError(_("The file is neither UTF-8 nor GBK text.")) from None


def decode(raw: bytes) -> str:
    """A whole body as text: UTF-8 (with or without BOM), else GB 18030 (a superset of GBK,
    which Chinese Excel and many enterprise systems write)."""
    try:
        return raw.decode(sniff_encoding(raw))
    except UnicodeDecodeError:  # valid up to a character cut off at the very end
        raise IngestError(_("The file is neither UTF-8 nor GBK text.")) from None


def csv_rows(text: str | Iterable[str]) -> Iterator[dict[str, str]]:
    """The rows of CSV text (a string, or its lines read as they come), by header name."""
    reader = csv.reader(io.StringIO(text) if isinstance(text, str) else text)
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise IngestError(_("The file is empty.")) from None
    except csv.Error as exc:
        raise _unreadable(exc, reader.line_num) from None
    check_header(header)
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _unreadable(exc, reader.line_num) from None
        if not values or (len(values) == 1 and not values[0].strip()):
            continue
        yield dict(zip(header, values, strict=False))


def _unreadable(exc: csv.Error, line: int) -> IngestError:
    return IngestError(
        _("Line %(line)d: the CSV cannot be read (%(error)s).") % {"line": line, "error": exc},
        field="body",
    )


def check_header(header: Sequence[str]) -> None:
    unknown = [name for name in header if name not in COLUMNS]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if unknown or missing:
        raise IngestError(
            _(
                "Wrong header. Missing: %(missing)s; not known: %(unknown)s. The columns are: "
                "%(columns)s."
            )
            % {
                "missing": ", ".join(missing) or "-",
                "unknown": ", ".join(unknown) or "-",
                "columns": ", ".join(COLUMNS),
            },
            field="header",
        )


# --- form checks -----------------------------------------------------------------------------
LOCAL = ZoneInfo(settings.TIME_ZONE)
EVENT_KINDS = frozenset(EventKind.values)
PRODUCT_KINDS = frozenset(ProductKind.values)
# A device's clock may run a little fast; an event further ahead than this is a typo.
FUTURE_TOLERANCE = timedelta(minutes=15)


def _time(value: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value).strip()
        if not text:
            raise ValueError("empty")
        parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=LOCAL)
    # Outside these years a time is a typo (and before 1901 the local zone's offset is not a
    # whole minute, which no ISO 8601 answer can carry).
    if not 2000 <= parsed.year <= 2099:
        raise ValueError("year out of range")
    return parsed


def _text(value: Any) -> str:
    """A cell as stripped text: CSV cells are already text, Parquet's may be numbers or None."""
    if value is None:
        return ""
    text: str = value if type(value) is str else str(value)
    return text.strip()


def _float(text: str) -> float | None:
    if not text:
        return None
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(text)
    return number


def _code_error(code: str, product: str) -> str | None:
    if product in DETONATORS:
        return shell_code_error(code)
    if product:
        return package_code_error(code)
    if len(code) == 13 and shell_code_error(code) is None:
        return None
    if package_code_error(code) is None:
        return None
    return shell_code_error(code) if len(code) == 13 else package_code_error(code)


def parse_row(
    number: int, row: Mapping[str, Any], errors: list[RowError], now: datetime | None = None
) -> Parsed | None:
    """Form checks of one row; appends the row's first error and returns None if any.
    `now` (default: the clock) bounds event times: none may lie ahead of it."""
    get = row.get

    def fail(field: str, code: str, message: str) -> None:
        errors.append(RowError(number, field, code, message))

    code = _text(get("code")).upper()
    kind = _text(get("event")).lower()
    if kind not in EVENT_KINDS:
        fail(
            "event",
            "unknown_event",
            _("Unknown event; use one of %(kinds)s.") % {"kinds": ", ".join(EventKind.values)},
        )
        return None
    if not code:
        fail("code", "required", _("The code is missing."))
        return None
    product = _text(get("product")).lower()
    if product and product not in PRODUCT_KINDS:
        fail(
            "product",
            "unknown_product",
            _("Unknown product; use one of %(kinds)s.") % {"kinds": ", ".join(ProductKind.values)},
        )
        return None
    problem = _code_error(code, product)
    if problem:
        fail("code", "malformed_code", problem)
        return None
    container = _text(get("container")).upper()
    if container and package_code_error(container):
        fail("container", "malformed_code", package_code_error(container) or "")
        return None
    chip_uid = _text(get("chip_uid")).upper()
    if chip_uid and uid_error(chip_uid):
        fail("chip_uid", "malformed_uid", uid_error(chip_uid) or "")
        return None
    latest = (now or timezone.now()) + FUTURE_TOLERANCE
    try:
        at = _time(get("at"))
    except (TypeError, ValueError):
        fail("at", "bad_time", _("Give the time as ISO 8601, e.g. 2026-05-01T08:30:00+08:00."))
        return None
    if at > latest:
        fail("at", "future_time", _("The event's time is in the future; check the clock."))
        return None
    recorded_at = None
    recorded_text = _text(get("recorded_at"))
    if recorded_text:
        try:
            recorded_at = _time(recorded_text)
        except (TypeError, ValueError):
            fail("recorded_at", "bad_time", _("Give the time as ISO 8601."))
            return None
        if recorded_at > latest:
            fail("recorded_at", "future_time", _("The time is in the future; check the clock."))
            return None
    latitude_text, longitude_text = _text(get("latitude")), _text(get("longitude"))
    latitude = longitude = None
    if latitude_text or longitude_text:
        try:
            latitude = _float(latitude_text)
            longitude = _float(longitude_text)
        except ValueError:
            fail("latitude", "bad_position", _("Latitude and longitude are decimal degrees."))
            return None
        if (latitude is None) != (longitude is None):
            fail("longitude", "bad_position", _("Give both latitude and longitude, or neither."))
            return None
        if latitude is not None and not (-90 <= latitude <= 90):
            fail("latitude", "bad_position", _("Latitude is between -90 and 90."))
            return None
        if longitude is not None and not (-180 <= longitude <= 180):
            fail("longitude", "bad_position", _("Longitude is between -180 and 180."))
            return None
    quantity = None
    quantity_text = _text(get("quantity"))
    if quantity_text:
        try:
            quantity = Decimal(quantity_text)
        except InvalidOperation:
            quantity = None
        if quantity is None or not quantity.is_finite() or quantity <= 0 or quantity > 10**9:
            fail("quantity", "bad_quantity", _("The quantity is a positive number."))
            return None
    site_text = _text(get("site"))
    site = None
    if site_text:
        if not site_text.isdigit() or len(site_text) > 12:
            fail("site", "unknown_site", _("The site is the magazine's id in Weibao."))
            return None
        site = int(site_text)
    return Parsed(
        number,
        code,
        kind,
        at,
        _text(get("unit")).upper(),
        site,
        _text(get("person")).upper(),
        _text(get("counterpart")).upper(),
        _text(get("project")),
        container,
        _text(get("purchase_permit")),
        _text(get("transport_permit")),
        latitude,
        longitude,
        product,
        quantity,
        chip_uid,
        recorded_at,
    )
