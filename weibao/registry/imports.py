"""The registry's spreadsheets: columns of the unit, permit, site, people and certificate files
(exports and import templates share them, so an exported file imports again), and the imports
of units, permits and people.

An import reads the whole file, validates every row with the API's input serializers (the same
rules as one record at a time, with what they look up loaded once for the file) and reports
every problem; only a file without any problem is written, in one transaction, through the
services, so each row gets its history like any other change.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers
from rest_framework.exceptions import ValidationError as DrfValidationError

from weibao.accounts.models import User
from weibao.core import context as acting_context
from weibao.core.scoping import covers
from weibao.core.tabular import (
    Importer,
    ImportRejected,
    Table,
    TableRow,
    choice_lookup,
    normalise,
    problem,
    read_table,
    to_code,
)
from weibao.registry import serializers as s
from weibao.registry import services
from weibao.registry.models import (
    Certificate,
    Enterprise,
    EnterpriseKind,
    Jurisdiction,
    Permit,
    Person,
)
from weibao.registry.tables import PEOPLE, PERMITS, UNITS
from weibao.registry.validators import clean_identity_number, clean_uscc

__all__ = ["IMPORTER", "ImportRejected", "ImportResult", "import_file"]

KIND_SEPARATORS = re.compile(r"[、,，;；/\n]+")
LOOKUP_CHUNK = 500  # ids per IN (...) query: far below every database's parameter limit


# --- choices --------------------------------------------------------------------------------------
@cache
def _choices(name: str) -> dict[str, str]:
    choices = {
        "kinds": EnterpriseKind.choices,
        "status": Enterprise.Status.choices,
        "permit_kind": Permit.Kind.choices,
        "post": Person.Post.choices,
        "certificate_kind": Certificate.Kind.choices,
    }[name]
    return choice_lookup(choices)


def _kind_codes(text: str) -> list[str]:
    """Kinds as codes or labels, separated by 、 , ; / or, between codes, spaces."""
    lookup = _choices("kinds")
    codes: list[str] = []
    for piece in KIND_SEPARATORS.split(text):
        piece = piece.strip()
        if not piece:
            continue
        if normalise(piece) in lookup:
            codes.append(lookup[normalise(piece)])
        else:
            codes.extend(to_code(lookup, word) for word in piece.split())
    return codes


# --- validation -----------------------------------------------------------------------------------
class _Request:
    """What the input serializers read from their context: the acting user."""

    def __init__(self, user: User) -> None:
        self.user = user


class _DivisionField(s.DivisionCodeField):
    """A division code looked up in the jurisdictions loaded once for the file."""

    def to_internal_value(self, data: Any) -> Jurisdiction:
        found: Jurisdiction | None = self.context["jurisdictions"].get(str(data))
        if found is None:
            self.fail("does_not_exist", slug_name=self.slug_field, value=str(data))
        return found


class _UnitByUsccField(serializers.Field):  # type: ignore[type-arg]
    """A unit named by its USCC among those the importer may see (loaded once for the file);
    any other code reads as unknown, whether or not it exists (no probing)."""

    default_error_messages = {
        "unknown": gettext_lazy("No unit you can see has this unified social credit code."),
    }

    def to_internal_value(self, data: Any) -> Enterprise:
        try:
            code = clean_uscc(str(data))
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        unit: Enterprise | None = self.context["units"].get(code)
        if unit is None:
            self.fail("unknown")
        return unit

    def to_representation(self, value: Any) -> str:
        return str(value.uscc)


class _UnitInput(s.EnterpriseInput):
    jurisdiction = _DivisionField()

    def validate_uscc(self, value: str) -> str:
        # EnterpriseInput's rule, against the codes registered when the import started.
        try:
            value = clean_uscc(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        if value in self.context["registered_usccs"]:
            raise serializers.ValidationError(_("A unit with this code is already registered."))
        return value


class _PermitInput(s.PermitInput):
    enterprise = _UnitByUsccField()  # type: ignore[assignment]


class _PersonInput(s.PersonInput):
    enterprise = _UnitByUsccField()  # type: ignore[assignment]


def _chunks(values: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), LOOKUP_CHUNK):
        yield list(values[start : start + LOOKUP_CHUNK])


def _clean(cleaner: Any, value: str) -> str:
    try:
        return str(cleaner(value))
    except DjangoValidationError:
        return value.strip().upper()


def _visible_units(actor: User, rows: Sequence[TableRow]) -> dict[str, Enterprise]:
    codes = sorted({_clean(clean_uscc, r.values["uscc"]) for r in rows if r.values["uscc"]})
    units: dict[str, Enterprise] = {}
    for chunk in _chunks(codes):
        for unit in Enterprise.objects.visible_to(actor).filter(uscc__in=chunk):
            units[unit.uscc] = unit
    return units


def _given(values: dict[str, str], *keys: str) -> dict[str, str]:
    """Only the cells that hold something: a blank optional cell means "not given"."""
    return {k: values[k] for k in keys if values.get(k)}


class RowImport:
    """One kind of import: how a row becomes serializer input, what is loaded once for the file,
    what must be unique within the file, and which service writes a row."""

    table: ClassVar[Table]
    serializer: ClassVar[type[serializers.Serializer[Any]]]
    # serializer error path (list indices dropped) → column key
    fields: ClassVar[dict[str, str]] = {}

    def load(self, actor: User, rows: Sequence[TableRow]) -> dict[str, Any]:
        return {}

    def to_input(self, values: dict[str, str], loaded: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def unique_key(self, values: dict[str, str]) -> tuple[str, Any] | None:
        """(column, key) that must not repeat within the file; None: nothing to compare."""
        return None

    def check(self, actor: User, data: dict[str, Any], loaded: dict[str, Any]) -> dict[str, str]:
        """Rules beyond the serializer, on the row's input (checked whether or not the
        serializer accepts the row, so the report is complete): {column: message}."""
        return {}

    def write(self, actor: User, data: dict[str, Any]) -> None:
        raise NotImplementedError


class UnitImport(RowImport):
    table = UNITS
    serializer = _UnitInput
    fields = {"location.latitude": "latitude", "location.longitude": "longitude"}

    def load(self, actor: User, rows: Sequence[TableRow]) -> dict[str, Any]:
        codes = sorted({_clean(clean_uscc, r.values["uscc"]) for r in rows})
        registered: set[str] = set()
        for chunk in _chunks(codes):
            registered.update(
                Enterprise.objects.filter(uscc__in=chunk).values_list("uscc", flat=True)
            )
        jurisdictions: dict[str, Jurisdiction] = {}
        for j in Jurisdiction.objects.all():
            jurisdictions[j.code] = j
            jurisdictions.setdefault(normalise(j.name), j)
            jurisdictions.setdefault(normalise(j.name_en), j)
        return {"registered_usccs": registered, "jurisdictions": jurisdictions}

    def to_input(self, values: dict[str, str], loaded: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = _given(values, "uscc", "name", "address", "principal", "phone")
        if values["kinds"]:
            data["kinds"] = _kind_codes(values["kinds"])
        where = values["jurisdiction"]
        if where:
            # "430405", "430405 珠晖区" or a name: the field looks up codes only.
            code = re.match(r"^\s*(\d{6})\b", where)
            named = loaded["jurisdictions"].get(normalise(where))
            data["jurisdiction"] = code.group(1) if code else (named.code if named else where)
        location = _given(values, "latitude", "longitude")
        if location:
            data["location"] = location
        if values["status"]:
            data["status"] = to_code(_choices("status"), values["status"])
        return data

    def unique_key(self, values: dict[str, str]) -> tuple[str, Any] | None:
        return ("uscc", _clean(clean_uscc, values["uscc"])) if values["uscc"] else None

    def check(self, actor: User, data: dict[str, Any], loaded: dict[str, Any]) -> dict[str, str]:
        # The service's rule, checked here too so every such row is reported at once.
        code = data.get("jurisdiction", "")
        if code in loaded["jurisdictions"] and not covers(actor, code):
            return {
                "jurisdiction": _("Division %(code)s is outside your jurisdiction.")
                % {"code": code}
            }
        return {}

    def write(self, actor: User, data: dict[str, Any]) -> None:
        services.enterprise_create(actor=actor, data=data)


class PermitImport(RowImport):
    table = PERMITS
    serializer = _PermitInput
    fields = {"enterprise": "uscc"}

    def load(self, actor: User, rows: Sequence[TableRow]) -> dict[str, Any]:
        numbers = sorted({r.values["number"] for r in rows if r.values["number"]})
        taken: set[tuple[str, str]] = set()
        for chunk in _chunks(numbers):
            taken.update(Permit.objects.filter(number__in=chunk).values_list("kind", "number"))
        return {"units": _visible_units(actor, rows), "taken_numbers": taken}

    def to_input(self, values: dict[str, str], loaded: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = _given(values, "number", "scope", "issued_on", "expires_on")
        if values["uscc"]:
            data["enterprise"] = values["uscc"]
        if values["kind"]:
            data["kind"] = to_code(_choices("permit_kind"), values["kind"])
        return data

    def unique_key(self, values: dict[str, str]) -> tuple[str, Any] | None:
        if not values["number"]:
            return None
        return ("number", (to_code(_choices("permit_kind"), values["kind"]), values["number"]))

    def check(self, actor: User, data: dict[str, Any], loaded: dict[str, Any]) -> dict[str, str]:
        # The model's unique constraint, checked here so every such row is reported at once.
        if (data.get("kind"), data.get("number")) in loaded["taken_numbers"]:
            return {"number": _("A permit of this kind with this number is already registered.")}
        return {}

    def write(self, actor: User, data: dict[str, Any]) -> None:
        services.permit_create(actor=actor, data=data)


class PeopleImport(RowImport):
    table = PEOPLE
    serializer = _PersonInput
    fields = {
        "enterprise": "uscc",
        "certificates.kind": "certificate_kind",
        "certificates.number": "certificate_number",
        "certificates.issued_on": "certificate_issued_on",
        "certificates.expires_on": "certificate_expires_on",
        "certificates": "certificate_kind",
    }
    CERTIFICATE = ("certificate_kind", "certificate_number", "certificate_issued_on")

    def load(self, actor: User, rows: Sequence[TableRow]) -> dict[str, Any]:
        return {"units": _visible_units(actor, rows)}

    def to_input(self, values: dict[str, str], loaded: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = _given(values, "name", "identity_number", "appointed_on", "phone")
        if values["uscc"]:
            data["enterprise"] = values["uscc"]
        if values["post"]:
            data["post"] = to_code(_choices("post"), values["post"])
        certificate = {
            key.removeprefix("certificate_"): value
            for key, value in _given(values, *self.CERTIFICATE, "certificate_expires_on").items()
        }
        if certificate:
            if "kind" in certificate:
                certificate["kind"] = to_code(_choices("certificate_kind"), certificate["kind"])
            data["certificates"] = [certificate]
        return data

    def unique_key(self, values: dict[str, str]) -> tuple[str, Any] | None:
        if not (values["uscc"] and values["identity_number"]):
            return None
        unit = _clean(clean_uscc, values["uscc"])
        return ("identity_number", (unit, _clean(clean_identity_number, values["identity_number"])))

    def write(self, actor: User, data: dict[str, Any]) -> None:
        certificates = data.pop("certificates", [])
        services.person_create(actor=actor, data=data, certificates=certificates)


IMPORTS: dict[str, RowImport] = {
    "enterprises": UnitImport(),
    "permits": PermitImport(),
    "people": PeopleImport(),
}


# --- running an import ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ImportResult:
    created: int


def _paths(detail: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """A serializer's nested errors as (dotted path without list indices, message)."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "" if key in ("non_field_errors", "__all__") else str(key)
            if name.isdigit():
                name = ""
            yield from _paths(value, ".".join(p for p in (prefix, name) if p))
    elif isinstance(detail, list) and any(not isinstance(d, str) for d in detail):
        for value in detail:
            yield from _paths(value, prefix)
    else:
        for message in detail if isinstance(detail, list) else [detail]:
            yield prefix, str(message)


class _Report:
    def __init__(self, spec: RowImport) -> None:
        self.spec = spec
        self.columns = {c.key: c for c in spec.table.columns}
        self.errors: list[dict[str, Any]] = []

    def add(self, row: int, column: str, message: str) -> None:
        found = self.columns.get(column)
        self.errors.append(problem(row, found.header() if found else "", message))

    def add_detail(self, row: int, detail: Any) -> None:
        for path, message in _paths(detail):
            first = path.split(".", 1)[0]
            column = self.spec.fields.get(path) or self.spec.fields.get(first) or first
            self.add(row, column, message)


def _validate(
    spec: RowImport, actor: User, rows: Sequence[TableRow], report: _Report
) -> list[tuple[TableRow, dict[str, Any]]]:
    loaded = spec.load(actor, rows)
    # One serializer for every row: its fields are built once, and each row runs through the
    # same validation as a single record sent to the API.
    serializer = spec.serializer(context={"request": _Request(actor), **loaded})
    first_seen: dict[tuple[str, Any], int] = {}
    valid: list[tuple[TableRow, dict[str, Any]]] = []
    for row in rows:
        key = spec.unique_key(row.values)
        if key is not None:
            if key in first_seen:
                report.add(
                    row.number,
                    key[0],
                    _("Same as row %(row)d of this file: each record may appear only once.")
                    % {"row": first_seen[key]},
                )
            else:
                first_seen[key] = row.number
        given = spec.to_input(row.values, loaded)
        problems = spec.check(actor, given, loaded)
        try:
            data = serializer.run_validation(given)
        except DrfValidationError as exc:
            report.add_detail(row.number, exc.detail)
        else:
            if not problems:
                valid.append((row, dict(data)))
        for column, message in problems.items():
            report.add(row.number, column, message)
    return valid


def _write(
    spec: RowImport, actor: User, valid: Sequence[tuple[TableRow, dict[str, Any]]], report: _Report
) -> None:
    """Every row through its service, all in one transaction. A row the service refuses
    (a rule checked only there, or a row saved meanwhile by someone else) is reported and the
    others still tried, so the report is complete; then the transaction is rolled back."""
    with transaction.atomic():
        for row, data in valid:
            try:
                spec.write(actor, data)
            except DjangoValidationError as exc:
                detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
                report.add_detail(row.number, detail)
            except PermissionDenied as exc:
                report.add(
                    row.number, "", str(exc) or _("You may not change this unit's registry.")
                )
            except IntegrityError:
                report.add(
                    row.number,
                    "",
                    _("This row conflicts with a record saved while the file was being imported."),
                )
        if report.errors:
            raise ImportRejected(report.errors)


def import_file(*, actor: User, kind: str, upload: Any) -> ImportResult:
    """Import a units, permits or people file (.xlsx or .csv): every row or none.

    Raises ImportRejected listing each problem by row and column, in the active language.
    """
    spec = IMPORTS[kind]
    rows = read_table(upload, spec.table.columns)
    if not rows:
        raise ImportRejected([problem(None, "", _("The file has no rows to import."))])
    report = _Report(spec)
    valid = _validate(spec, actor, rows, report)
    if report.errors:
        raise ImportRejected(report.errors)
    # History names the importer; a web request has already set who is acting.
    acting = (
        contextlib.nullcontext()
        if acting_context.current() is not None
        else acting_context.acting_as(actor, label="import")
    )
    with acting:
        _write(spec, actor, valid, report)
    return ImportResult(created=len(valid))


IMPORTER = Importer(
    kinds={kind: spec.table for kind, spec in IMPORTS.items()},
    permission="registry.import_enterprise",
    run=import_file,
)
