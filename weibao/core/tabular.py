"""Spreadsheets in and out: read .xlsx and .csv uploads into rows of text keyed by column, write
.xlsx exports and import templates.

Generic: an app describes its files with `Column`s (and a `Table` for exports); the registry's
units, permits and people are the first users (weibao.registry.imports).

Reading refuses the whole file, with a report naming row, column and problem, whenever it cannot
read a cell faithfully (merged cells, formulas, unknown headers, too many rows, wrong type or
size): an import takes every row or none, so doubt about one cell must stop all of them.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from operator import attrgetter
from typing import Any, Literal

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
from openpyxl.utils.datetime import from_excel

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TEMPLATE_LANGUAGE = "zh-hans"
# A report longer than this is cut, with a last line counting the rest: nobody reads 10,000
# copies of the same mistake, and the response stays small.
MAX_REPORTED_ERRORS = 500
# A workbook is a zip: refuse one that would unpack to more than this many times the upload
# limit (a "zip bomb" would otherwise exhaust memory before any row is counted).
MAX_UNPACK_RATIO = 20

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and password-protected .xlsx
BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b", b"Rar!", b"7z\xbc")
CSV_DELIMITERS = (",", "\t", ";")
DATE_RE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]0{1,2}:00(?::00)?)?$"
)
MERGE_RE = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?mergeCell\b[^>]*?\bref="([A-Z0-9:]+)"')
HEADER_NOISE_RE = re.compile(r"[\s_*]+")

StrOrPromise = str | Promise


def normalise(text: str) -> str:
    """How headers and choice labels are compared: width-, case- and space-insensitive."""
    return HEADER_NOISE_RE.sub("", unicodedata.normalize("NFKC", text)).casefold()


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@dataclass(frozen=True, eq=False)
class Column:
    """One column of a file.

    `label` is translatable (English source; the Chinese header comes from the catalogue);
    `aliases` are further headers accepted on import, typically the Chinese label spelled out so
    a template keeps working whatever the catalogue says. `getter` reads the exported value from
    an object (default: the attribute named `key`). Export-only columns (`importable=False`)
    are written by exports and ignored on import, so an exported file can be imported again;
    import-only columns (`exported=False`) appear in templates, not in exports.
    """

    key: str
    label: StrOrPromise
    aliases: tuple[str, ...] = ()
    required: bool = False
    getter: Callable[[Any], Any] | None = None
    example: str = ""
    type: Literal["text", "date"] = "text"
    importable: bool = True
    exported: bool = True
    width: int = 0

    def header(self) -> str:
        """The label in the active language; under Chinese, an untranslated label falls back to
        the Chinese alias (a new column may reach users before its translation does)."""
        text = str(self.label)
        if (get_language() or "").startswith("zh") and not _has_cjk(text):
            text = next((a for a in self.aliases if _has_cjk(a)), text)
        return text

    def names(self) -> set[str]:
        """Every header that means this column, normalised."""
        names = {self.key, *self.aliases}
        for language in ("zh-hans", "en"):
            with translation.override(language):
                names.add(self.header())
        return {normalise(n) for n in names if n}

    def value(self, obj: Any) -> Any:
        return self.getter(obj) if self.getter is not None else attrgetter(self.key)(obj)


@dataclass(frozen=True)
class Table:
    """What an export writes: its file name stem, sheet title, columns and the related rows to
    load with the queryset (so an export costs the same few queries however many rows)."""

    name: str
    title: StrOrPromise
    columns: tuple[Column, ...]
    select_related: tuple[str, ...] = ()
    prefetch_related: tuple[str, ...] = ()

    def export_columns(self, user: Any) -> Sequence[Column]:
        """The columns an export writes for `user` (a subclass may mask some)."""
        return [c for c in self.columns if c.exported]


@dataclass(frozen=True)
class Importer:
    """An app's imports: the files it takes (by kind), who may import, and the function that
    imports one file: `run(actor=..., kind=..., upload=...)` returns an object with `created`
    or raises ImportRejected."""

    kinds: Mapping[str, Table]
    permission: str
    run: Callable[..., Any]


@dataclass(frozen=True)
class TableRow:
    """One data row: its row number in the file (header = 1 in a template) and its values."""

    number: int
    values: dict[str, str]


def problem(row: int | None, column: str, message: str) -> dict[str, Any]:
    return {"row": row, "column": column, "message": message}


class ImportRejected(Exception):
    """The file was refused; nothing was written. `errors` lists {"row", "column", "message"}
    (row None and column "" for problems of the whole file), in the active language."""

    def __init__(self, errors: Sequence[Mapping[str, Any]]) -> None:
        rows = [dict(e) for e in errors]
        if len(rows) > MAX_REPORTED_ERRORS:
            rest = len(rows) - MAX_REPORTED_ERRORS
            rows = rows[:MAX_REPORTED_ERRORS]
            rows.append(
                problem(
                    None,
                    "",
                    ngettext(
                        "… and %(count)d more problem.", "… and %(count)d more problems.", rest
                    )
                    % {"count": rest},
                )
            )
        super().__init__(f"{len(rows)} problem(s)")
        self.errors = rows


def _refuse(message: str, *, row: int | None = None, column: str = "") -> ImportRejected:
    return ImportRejected([problem(row, column, message)])


# --- choices --------------------------------------------------------------------------------------
def choice_lookup(choices: Iterable[tuple[str, StrOrPromise]]) -> dict[str, str]:
    """Normalised code, English label and Chinese label → code, to read what people type."""
    lookup: dict[str, str] = {}
    for code, label in choices:
        lookup[normalise(code)] = code
        for language in ("en", TEMPLATE_LANGUAGE):
            with translation.override(language):
                lookup.setdefault(normalise(str(label)), code)
    return lookup


def to_code(lookup: Mapping[str, str], text: str) -> str:
    """The code a value names, or the value unchanged (its validator then reports it)."""
    return lookup.get(normalise(text), text)


# --- reading --------------------------------------------------------------------------------------
def _text(value: Any, column: Column | None) -> str:
    """A cell as text: integral numbers without ".0", dates as YYYY-MM-DD."""
    if value is None:
        return ""
    is_date = column is not None and column.type == "date"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)) and is_date and 1 <= value < 2958466:
        value = from_excel(value)  # a date whose cell lost its date format
    if isinstance(value, datetime):
        if is_date or value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, (int, Decimal)):
        return format(value, "f") if isinstance(value, Decimal) else str(value)
    text = str(value).strip()
    if is_date:
        match = DATE_RE.match(text)
        if match:
            year, month, day = (int(g) for g in match.groups())
            text = f"{year:04d}-{month:02d}-{day:02d}"
    return text


@dataclass
class _Reader:
    columns: Sequence[Column]
    max_rows: int
    errors: list[dict[str, Any]] = field(default_factory=list)
    # position in the row → column (None: a column without a header, or an export-only one)
    positions: dict[int, Column | None] = field(default_factory=dict)
    header_row: int = 0
    rows: list[TableRow] = field(default_factory=list)

    def header(self, number: int, cells: Sequence[str]) -> None:
        by_name: dict[str, Column] = {}
        for column in self.columns:
            for name in column.names():
                by_name.setdefault(name, column)
        seen: dict[str, str] = {}
        problems: list[dict[str, Any]] = []
        for index, text in enumerate(cells):
            if not text:
                continue
            found = by_name.get(normalise(text))
            if found is None:
                problems.append(
                    problem(
                        number,
                        text,
                        _("Unknown column “%(header)s”; use the headers of the template.")
                        % {"header": text},
                    )
                )
                continue
            if found.key in seen:
                problems.append(
                    problem(
                        number,
                        text,
                        _("Column “%(header)s” appears twice.") % {"header": text},
                    )
                )
                continue
            seen[found.key] = text
            self.positions[index] = found if found.importable else None
        for column in self.columns:
            if column.required and column.key not in seen:
                problems.append(
                    problem(
                        number,
                        column.header(),
                        _("The required column “%(column)s” is missing.")
                        % {"column": column.header()},
                    )
                )
        if problems:
            raise ImportRejected(problems)
        self.header_row = number

    def row(self, number: int, raw: Sequence[Any], formulas: Sequence[int] = ()) -> None:
        values = {c.key: "" for c in self.columns if c.importable}
        for index, value in enumerate(raw):
            column = self.positions.get(index)
            text = _text(value, column)
            if not text:
                continue
            if index not in self.positions:
                self.errors.append(
                    problem(
                        number,
                        get_column_letter(index + 1),
                        _("This column has values but no header."),
                    )
                )
            elif column is not None:
                values[column.key] = text
        for index in formulas:
            column = self.positions.get(index)
            self.errors.append(
                problem(
                    number,
                    column.header() if column else get_column_letter(index + 1),
                    _("This cell holds a formula; paste values, not formulas."),
                )
            )
        if len(self.rows) >= self.max_rows:
            raise _refuse(
                _("The file has more than %(limit)d rows; split it into smaller files.")
                % {"limit": self.max_rows}
            )
        self.rows.append(TableRow(number, values))

    def feed(self, number: int, raw: Sequence[Any], formulas: Sequence[int] = ()) -> None:
        if not formulas and all(_text(v, None) == "" for v in raw):
            return  # empty rows are skipped silently
        if not self.header_row:
            self.header(number, [_text(v, None) for v in raw])
        else:
            self.row(number, raw, formulas)

    def result(self) -> list[TableRow]:
        if not self.header_row:
            raise _refuse(_("The file has no header row."))
        if self.errors:
            raise ImportRejected(self.errors)
        return self.rows


def _merged_ranges(archive: zipfile.ZipFile, path: str) -> list[str]:
    """Merged ranges of a sheet: read-only worksheets do not expose them, so scan its XML."""
    found: list[str] = []
    tail = b""
    with archive.open(path) as stream:
        while chunk := stream.read(1 << 20):
            buffer = tail + chunk
            for match in MERGE_RE.finditer(buffer):
                ref = match.group(1).decode()
                if ref not in found:
                    found.append(ref)
            tail = buffer[-512:]
    return sorted(found, key=lambda ref: _top_left(ref)[::-1])


def _top_left(ref: str) -> tuple[int, int]:
    """(column, row) of a range's first cell, numbered from 1."""
    column, row = coordinate_from_string(ref.split(":")[0])
    return column_index_from_string(column), row


def _check_workbook(names: set[str], unpacked: int) -> None:
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise _refuse(_("Upload an Excel workbook (.xlsx) or a CSV file."))
    limit = settings.IMPORT_MAX_BYTES * MAX_UNPACK_RATIO
    if unpacked > limit:
        raise _refuse(
            _("The workbook unpacks to %(size)s; the limit is %(limit)s.")
            % {"size": filesizeformat(unpacked), "limit": filesizeformat(limit)}
        )


def _read_xlsx(data: bytes, reader: _Reader) -> None:
    unreadable = _("The workbook cannot be read; open it and save it again as .xlsx.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
        unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _refuse(unreadable) from None
    with archive:
        _check_workbook(names, unpacked)
        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        except Exception:  # openpyxl raises many kinds of errors for a damaged file
            raise _refuse(unreadable) from None
        try:
            if not workbook.worksheets:
                raise _refuse(unreadable)
            sheet: Any = workbook.worksheets[0]
            path = getattr(sheet, "_worksheet_path", "")
            merged = _merged_ranges(archive, path) if path in names else []
            if merged:
                raise ImportRejected(
                    [
                        problem(
                            _top_left(ref)[1],
                            ref,
                            _("Cells %(range)s are merged; unmerge them and fill in every cell.")
                            % {"range": ref},
                        )
                        for ref in merged
                    ]
                )
            # The stored dimension may be stale or missing (some tools write "A1"), and empty
            # rows do not count: read without bounds and count the rows that hold something.
            sheet.reset_dimensions()
            for number, cells in enumerate(sheet.iter_rows(), start=1):
                values = [getattr(cell, "value", None) for cell in cells]
                formulas = [
                    index
                    for index, cell in enumerate(cells)
                    if getattr(cell, "data_type", None) == "f"
                ]
                reader.feed(number, values, formulas)
        except ImportRejected:
            raise
        except Exception:
            raise _refuse(unreadable) from None
        finally:
            workbook.close()


def _decode(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _refuse(_("The CSV file is neither UTF-8 nor GB18030 text; save it as CSV (UTF-8)."))


def _read_csv(data: bytes, reader: _Reader) -> None:
    text = _decode(data)
    if not text.strip():
        raise _refuse(_("The file is empty."))
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(CSV_DELIMITERS, key=lambda d: (first.count(d), d == ","))
    rows: Iterator[list[str]] = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    number = 0
    try:
        for number, cells in enumerate(rows, start=1):
            reader.feed(number, cells)
    except csv.Error:
        raise _refuse(
            _("The CSV file cannot be read near row %(row)d.") % {"row": number + 1}
        ) from None


def read_table(
    upload: Any, columns: Sequence[Column], *, max_rows: int | None = None
) -> list[TableRow]:
    """Rows of an uploaded .xlsx or .csv file as text keyed by column; raise ImportRejected
    with every problem found if the file cannot be taken whole."""
    limit = settings.IMPORT_MAX_BYTES
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise _refuse(
            _("The file is %(size)s; the limit is %(limit)s.")
            % {"size": filesizeformat(size), "limit": filesizeformat(limit)}
        )
    if hasattr(upload, "seek"):
        upload.seek(0)
    data: bytes = upload.read(limit + 1)
    if len(data) > limit:
        raise _refuse(_("The file is larger than %(limit)s.") % {"limit": filesizeformat(limit)})
    if not data.strip():
        raise _refuse(_("The file is empty."))
    reader = _Reader(columns, settings.IMPORT_MAX_ROWS if max_rows is None else max_rows)
    if data.startswith(ZIP_MAGIC):
        _read_xlsx(data, reader)
    elif data.startswith(OLE_MAGIC):
        raise _refuse(
            _(
                "This is an old Excel (.xls) file or a password-protected workbook: open it "
                "and save it as .xlsx without a password."
            )
        )
    elif data.startswith(BINARY_MAGIC) or (
        b"\x00" in data[:4096] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    ):
        raise _refuse(_("Upload an Excel workbook (.xlsx) or a CSV file."))
    else:
        _read_csv(data, reader)
    return reader.result()


# --- writing --------------------------------------------------------------------------------------
def _separator() -> str:
    return "、" if (get_language() or "").startswith("zh") else ", "


def _cell_value(value: Any) -> Any:
    if isinstance(value, Promise):
        value = str(value)
    if isinstance(value, (list, tuple)):
        value = _separator().join(str(v) for v in value)
    if isinstance(value, datetime) and timezone.is_aware(value):
        value = timezone.localtime(value).replace(tzinfo=None)
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _sheet(workbook: Workbook, columns: Sequence[Column], title: str) -> Any:
    sheet = workbook.create_sheet(re.sub(r"[\[\]:*?/\\]", " ", title)[:31] or "Sheet1")
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for index, column in enumerate(columns, start=1):
        text = column.header()
        width = max(column.width, _display_width(text) + 2, 8)
        sheet.column_dimensions[get_column_letter(index)].width = min(width, 60)
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    return sheet


def _append(sheet: Any, values: Iterable[Any]) -> None:
    row: list[Any] = []
    for value in values:
        value = _cell_value(value)
        if isinstance(value, str) and value.startswith("="):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"  # text that looks like a formula stays text
            value = cell
        row.append(value)
    sheet.append(row)


def _save(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_xlsx(columns: Sequence[Column], objects: Iterable[Any], *, sheet_title: str) -> bytes:
    """An .xlsx of `objects`, one row each, headed by the labels in the active language."""
    workbook = Workbook(write_only=True)
    sheet = _sheet(workbook, columns, sheet_title)
    for obj in objects:
        _append(sheet, (column.value(obj) for column in columns))
    return _save(workbook)


def template_xlsx(columns: Sequence[Column], *, sheet_title: str = "") -> bytes:
    """The file to fill in: Chinese headers of the importable columns and one example row."""
    wanted = [c for c in columns if c.importable]
    with translation.override(TEMPLATE_LANGUAGE):
        workbook = Workbook(write_only=True)
        sheet = _sheet(workbook, wanted, sheet_title or "Sheet1")
        _append(sheet, (c.example for c in wanted))
        return _save(workbook)


__all__ = [
    "XLSX_CONTENT_TYPE",
    "Column",
    "ImportRejected",
    "Importer",
    "Table",
    "TableRow",
    "choice_lookup",
    "normalise",
    "problem",
    "read_table",
    "template_xlsx",
    "to_code",
    "write_xlsx",
]
