"""Printed documents of the hazard loop: the rectification notice handed to a unit after an
inspection (责令限期整改通知书) and the acceptance record of a closed hazard (隐患整改验收记录).

Both print only what was recorded (names and texts as they were when the record was made), so a
reprint years later shows the same document. Callers pass objects they already found through
`visible_to(user)`; these functions reload them with everything the document shows in a fixed,
small number of queries.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from weibao.core.documents import image_data_uri, render_pdf
from weibao.core.errors import DomainError
from weibao.core.i18n import is_english
from weibao.hazards.choices import HazardLevel
from weibao.hazards.models import Hazard, HazardEvent, HazardStatus
from weibao.inspections.models import Inspection

NOTICE_TEMPLATE = "documents/rectification_notice.html"
ACCEPTANCE_TEMPLATE = "documents/acceptance_record.html"


def _agency_name(agency: Any) -> str:
    if agency is None:
        return ""
    return str(agency.name_en if is_english() and agency.name_en else agency.name)


# --- 责令限期整改通知书 -------------------------------------------------------------------------
def rectification_notice_context(inspection: Inspection) -> dict[str, Any]:
    """What the notice shows; raises DomainError when the inspection cannot have one."""
    inspection = (
        Inspection.objects.select_related("enterprise", "agency")
        .prefetch_related(Prefetch("hazards", queryset=Hazard.objects.order_by("id")))
        .get(pk=inspection.pk)
    )
    if inspection.is_self_inspection:
        raise DomainError(
            _(
                "A rectification notice is issued after a regulator's inspection, "
                "not after a self-inspection."
            )
        )
    if inspection.status != Inspection.Status.SUBMITTED:
        raise DomainError(
            _(
                "Submit the inspection first: a rectification notice is issued from the "
                "final record."
            )
        )
    if inspection.agency is None:
        raise DomainError(_("The inspection names no inspecting bureau to issue the notice."))
    hazards = list(inspection.hazards.all())
    if not hazards:
        raise DomainError(
            _("The inspection found no hazards: there is nothing to order rectified.")
        )
    issued_on = (
        timezone.localdate(inspection.submitted_at)
        if inspection.submitted_at
        else inspection.inspected_on
    )
    return {
        "inspection": inspection,
        "unit": inspection.enterprise,
        "bureau_name": _agency_name(inspection.agency),
        "hazards": hazards,
        "has_major": any(h.level == HazardLevel.MAJOR for h in hazards),
        "issued_on": issued_on,
        "signature_uri": image_data_uri(inspection.signature_image),
    }


def rectification_notice_pdf(inspection: Inspection) -> bytes:
    """责令限期整改通知书 for a submitted regulator inspection, as an A4 PDF in the active
    language. Raises DomainError for a draft, a self-inspection or one without hazards."""
    return render_pdf(NOTICE_TEMPLATE, rectification_notice_context(inspection))


# --- 隐患整改验收记录 ---------------------------------------------------------------------------
def acceptance_record_context(hazard: Hazard) -> dict[str, Any]:
    """What the acceptance record shows; raises DomainError unless the hazard is closed."""
    hazard = (
        Hazard.objects.select_related(
            "enterprise", "site", "accepted_by__agency", "accepted_by__enterprise"
        )
        .prefetch_related(Prefetch("events", queryset=HazardEvent.objects.select_related("actor")))
        .get(pk=hazard.pk)
    )
    if hazard.status != HazardStatus.CLOSED:
        raise DomainError(
            _("An acceptance record exists only for a hazard that has been accepted and closed.")
        )
    accepted_by = hazard.accepted_by
    # The record heads with whoever accepted: the bureau, or the unit for its own general hazards.
    if accepted_by is not None and accepted_by.agency is not None:
        organisation = _agency_name(accepted_by.agency)
    elif accepted_by is not None and accepted_by.enterprise is not None:
        organisation = accepted_by.enterprise.name
    else:
        organisation = ""
    timeline = [
        {
            "action": event.get_action_display(),
            "actor": str(event.actor) if event.actor is not None else "",
            "at": event.at,
            "note": event.note,
        }
        for event in hazard.events.all()
    ]
    return {
        "hazard": hazard,
        "unit": hazard.enterprise,
        "organisation": organisation,
        "accepted_by_name": str(accepted_by) if accepted_by is not None else "",
        "timeline": timeline,
    }


def acceptance_record_pdf(hazard: Hazard) -> bytes:
    """隐患整改验收记录 for a closed hazard, as an A4 PDF in the active language. Raises
    DomainError for a hazard that is not closed."""
    return render_pdf(ACCEPTANCE_TEMPLATE, acceptance_record_context(hazard))


__all__ = [
    "acceptance_record_context",
    "acceptance_record_pdf",
    "rectification_notice_context",
    "rectification_notice_pdf",
]
