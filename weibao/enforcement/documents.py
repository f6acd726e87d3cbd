"""The documents a case issues at its steps: registration approval form (立案审批表), notice of
intended penalty (行政处罚告知书), penalty decision (行政处罚决定书) and the case-file cover with
the index of its documents (卷宗封面及卷内文件目录).

Each is generated once, by the step's service and inside its transaction, from the case as
recorded at that moment, and stored with its checksum (`CaseDocument`). Downloads serve the stored
file: a later edit of the case never changes a document already issued, so the file the unit
received and the one in the case file are the same bytes years later.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.files.base import ContentFile
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from weibao.accounts.models import User
from weibao.core.documents import PDF_CONTENT_TYPE, render_pdf
from weibao.core.errors import DomainError
from weibao.core.i18n import localized
from weibao.enforcement.models import (
    Case,
    CaseDocument,
    EscalationFact,
    LegalProvision,
    PenaltyItem,
)
from weibao.hazards.choices import HazardLevel
from weibao.hazards.models import Hazard, HazardStatus
from weibao.inspections.models import Inspection

Kind = CaseDocument.Kind

TEMPLATES: dict[str, str] = {
    Kind.REGISTRATION_APPROVAL: "documents/case_registration_approval.html",
    Kind.PENALTY_NOTICE: "documents/case_penalty_notice.html",
    Kind.PENALTY_DECISION: "documents/case_penalty_decision.html",
    Kind.FILE_COVER: "documents/case_file_cover.html",
}
# Document number = case number + the document's code (立案 LA, 告知 GZ, 决定 JD, 封面 FM).
SUFFIXES: dict[str, str] = {
    Kind.REGISTRATION_APPROVAL: "LA",
    Kind.PENALTY_NOTICE: "GZ",
    Kind.PENALTY_DECISION: "JD",
    Kind.FILE_COVER: "FM",
}

# Labels for the keys the escalation job writes into `case.evidence`; any other key is printed
# as it is (the evidence is data of its own era, and must print even if the job changes).
EVIDENCE_LABELS = {
    "rule": gettext_lazy("Escalation rule"),
    "reference": gettext_lazy("Reference"),
    "hazard_reference": gettext_lazy("Reference"),
    "description": gettext_lazy("Description"),
    "level": gettext_lazy("Level"),
    "status": gettext_lazy("Status"),
    "found_on": gettext_lazy("Found on"),
    "deadline": gettext_lazy("Deadline"),
    "extension_count": gettext_lazy("Extensions"),
    "overdue_since": gettext_lazy("Overdue since"),
    "rectified_on": gettext_lazy("Rectification handed in on"),
    "overdue_days": gettext_lazy("Days overdue"),
    "recorded_on": gettext_lazy("Recorded on"),
    "count": gettext_lazy("Number of hazards"),
}
# Keys that hold database ids or bookkeeping: meaningless on paper.
EVIDENCE_HIDDEN = frozenset({"id", "key", "hazard", "hazard_id", "enterprise", "enterprise_id"})


def yuan(amount: Decimal | None) -> str:
    """An amount in yuan as printed: 30,000.00 (the template adds the unit)."""
    return "" if amount is None else f"{amount:,.2f}"


def document_number(case: Case, kind: str) -> str:
    return f"{case.reference}-{SUFFIXES[kind]}"


def load(case: Case) -> Case:
    """The case with everything a document shows, in a fixed number of queries (one for the
    case, unit and bureau, one per related list)."""
    loaded: Case = (
        Case.objects.select_related("enterprise", "agency")
        .prefetch_related(
            Prefetch("officers", queryset=User.objects.order_by("id")),
            Prefetch("provisions", queryset=LegalProvision.objects.order_by("code")),
            Prefetch(
                "penalties",
                queryset=PenaltyItem.objects.select_related("provision", "person", "permit"),
            ),
            "persons",
            Prefetch("hazards", queryset=Hazard.objects.order_by("found_on", "id")),
            Prefetch("inspections", queryset=Inspection.objects.order_by("inspected_on", "id")),
            Prefetch("documents", queryset=CaseDocument.objects.order_by("issued_at", "id")),
        )
        .get(pk=case.pk)
    )
    return loaded


# --- what the documents show -----------------------------------------------------------------
def _evidence_value(key: str, value: Any) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return ""
    if key == "rule" and value in EscalationFact.Rule.values:
        return str(EscalationFact.Rule(value).label)
    if key == "level" and value in HazardLevel.values:
        return str(HazardLevel(value).label)
    if key == "status" and value in HazardStatus.values:
        return str(HazardStatus(value).label)
    if isinstance(value, list | tuple):
        return ", ".join(_evidence_value("", v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)


def evidence_rows(evidence: Any) -> list[dict[str, Any]]:
    """The escalation job's evidence as printable rows: a heading (the rule) and the other facts
    as label–value pairs. Written by a job of its own era, so anything unexpected (not a list,
    an item that is not a dict, unknown keys) still prints rather than breaking the document."""
    if not evidence:
        return []
    items = evidence if isinstance(evidence, list) else [evidence]
    rows: list[dict[str, Any]] = []
    for item in items:
        if not isinstance(item, dict):
            rows.append({"heading": _evidence_value("", item), "details": []})
            continue
        heading = _evidence_value("rule", item.get("rule"))
        details: list[tuple[str, str]] = []
        for key, value in item.items():
            if key == "rule" or key in EVIDENCE_HIDDEN:
                continue
            text = _evidence_value(str(key), value)
            if text:
                label = EVIDENCE_LABELS.get(str(key)) or str(key).replace("_", " ")
                details.append((str(label), text))
        rows.append({"heading": heading, "details": details})
    return rows


def penalty_rows(items: Iterable[PenaltyItem]) -> list[dict[str, Any]]:
    return [
        {
            "kind": item.get_kind_display(),
            "amount": yuan(item.amount),
            "person": item.person.name if item.person is not None else "",
            "permit": str(item.permit) if item.permit is not None else "",
            "until": item.until,
            "provision": item.provision,
            "description": item.description,
            "is_fine": item.is_fine,
        }
        for item in items
    ]


def _total_fines(items: Iterable[PenaltyItem]) -> str:
    total = Decimal(0)
    for item in items:
        if item.is_fine and item.amount is not None:
            total += item.amount
    return yuan(total) if total else ""


def _issued_on(case: Case, kind: str) -> date:
    days: dict[str, date | None] = {
        Kind.REGISTRATION_APPROVAL: case.registered_on,
        Kind.PENALTY_NOTICE: case.notified_on,
        Kind.PENALTY_DECISION: case.decided_on,
        Kind.FILE_COVER: case.closed_on,
    }
    return days.get(kind) or timezone.localdate()


def document_index(documents: Iterable[CaseDocument]) -> list[dict[str, Any]]:
    return [
        {
            "kind": document.get_kind_display(),
            "number": document.number,
            "name": document.name,
            "date": timezone.localdate(document.issued_at),
            "generated": document.generated,
        }
        for document in documents
    ]


def document_context(case: Case, kind: str, actor: User | None = None) -> dict[str, Any]:
    """Everything a document of `kind` shows, from a case loaded with `load`."""
    penalties = list(case.penalties.all())
    documents = list(case.documents.all())
    uploaded = [d for d in documents if not d.generated]
    return {
        "case": case,
        "kind": kind,
        "document_title": str(Kind(kind).label),
        "number": document_number(case, kind),
        "issued_on": _issued_on(case, kind),
        "issued_by": str(actor) if actor is not None else "",
        "unit": case.enterprise,
        "bureau_name": localized(case.agency.name, case.agency.name_en),
        "officers": [str(officer) for officer in case.officers.all()],
        "provisions": list(case.provisions.all()),
        "persons": list(case.persons.all()),
        "hazards": list(case.hazards.all()),
        "inspections": list(case.inspections.all()),
        "evidence": evidence_rows(case.evidence),
        "penalties": penalty_rows(penalties),
        "total_fines": _total_fines(penalties),
        "has_fine": any(item.is_fine for item in penalties),
        "uploaded": document_index(uploaded),
        "index": document_index(documents),
    }


# --- issuing ---------------------------------------------------------------------------------
def issue(*, case: Case, kind: str, actor: User | None) -> CaseDocument:
    """Generate the document of `kind` from the case as recorded now (in the active language)
    and store it, with its size and SHA-256, as issued. Each kind is issued once per case."""
    if kind not in TEMPLATES:
        raise ValueError(f"{kind!r} is not a document the system generates")
    case = load(case)
    label = str(Kind(kind).label)
    if any(d.kind == kind and d.generated for d in case.documents.all()):
        raise DomainError(
            _("“%(document)s” has already been issued for this case; it is never issued again.")
            % {"document": label}
        )
    number = document_number(case, kind)
    pdf = render_pdf(TEMPLATES[kind], document_context(case, kind, actor))
    document = CaseDocument(
        case=case,
        kind=kind,
        number=number,
        name=f"{label} {number}.pdf",
        content_type=PDF_CONTENT_TYPE,
        size=len(pdf),
        sha256=hashlib.sha256(pdf).hexdigest(),
        generated=True,
        issued_by=actor,
    )
    document.file.save(f"{number}.pdf", ContentFile(pdf), save=False)
    document.save()
    return document


__all__ = [
    "SUFFIXES",
    "TEMPLATES",
    "document_context",
    "document_index",
    "document_number",
    "evidence_rows",
    "issue",
    "load",
    "penalty_rows",
    "yuan",
]
