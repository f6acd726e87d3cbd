"""Writes for campaigns, draws and inspections: keyword-only, one transaction each.

Submitting an inspection locks it, numbers it, and turns every failed item into a hazard on the
ledger, all in one transaction: either the record and all its hazards exist, or none do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from weibao.accounts.models import Role, User
from weibao.core.errors import DomainError, ServiceValidationError
from weibao.core.files import validate_photo
from weibao.core.models import Counter
from weibao.core.notifications import notify
from weibao.core.scoping import covers
from weibao.hazards.models import Hazard, HazardAttachment
from weibao.hazards.services import hazard_record
from weibao.inspections.models import (
    Answer,
    AnswerPhoto,
    Campaign,
    Checklist,
    Inspection,
    InspectorConflict,
)
from weibao.registry.models import Enterprise

REGULATOR_ROLES = (Role.CITY_REGULATOR, Role.COUNTY_REGULATOR)


def save_checked(obj: Any) -> None:
    obj.full_clean()
    obj.save()


# --- inspections ------------------------------------------------------------------------------
def _check_inspectors(enterprise: Enterprise, inspectors: Sequence[User]) -> None:
    conflicted = set(
        InspectorConflict.objects.filter(
            enterprise=enterprise, inspector__in=[i.pk for i in inspectors]
        ).values_list("inspector_id", flat=True)
    )
    for inspector in inspectors:
        if inspector.role not in REGULATOR_ROLES or not inspector.is_active:
            raise ServiceValidationError(
                {"inspectors": [_("%(name)s is not an active inspector.") % {"name": inspector}]}
            )
        if not covers(inspector, enterprise.jurisdiction_id):
            raise ServiceValidationError(
                {
                    "inspectors": [
                        _("%(name)s does not supervise this unit's division.") % {"name": inspector}
                    ]
                }
            )
        if inspector.pk in conflicted:
            raise ServiceValidationError(
                {
                    "inspectors": [
                        _("%(name)s has a recorded conflict of interest with this unit.")
                        % {"name": inspector}
                    ]
                }
            )


def _checklist_for(enterprise: Enterprise, checklist: Checklist | None) -> Checklist:
    if checklist is not None:
        return checklist
    from weibao.inspections.checklists import current_checklist_for

    chosen = current_checklist_for(enterprise)
    if chosen is None:
        raise ServiceValidationError(
            {"checklist": [_("No checklist applies to this unit's kinds; choose one.")]}
        )
    return chosen


@transaction.atomic
def inspection_create(
    *, actor: User, data: dict[str, Any], include_actor: bool = True
) -> Inspection:
    """A draft inspection with one blank answer per checklist item."""
    data = dict(data)
    kind = data.get("kind") or Inspection.Kind.ROUTINE
    enterprise: Enterprise = data["enterprise"]
    inspectors: list[User] = list(data.pop("inspectors", None) or [])
    if kind == Inspection.Kind.SELF_INSPECTION:
        if not (actor.is_unit_manager and actor.enterprise_id == enterprise.pk):
            raise PermissionDenied(
                _("A self-inspection is made by the unit's principal or safety officer.")
            )
        if inspectors:
            raise ServiceValidationError(
                {"inspectors": [_("A self-inspection has no bureau inspectors.")]}
            )
        agency = None
    else:
        if not (actor.is_regulator and covers(actor, enterprise.jurisdiction_id)):
            if actor.is_unit_user:
                raise PermissionDenied(_("A unit makes self-inspections only."))
            raise PermissionDenied(_("This unit is outside your jurisdiction."))
        if include_actor and actor not in inspectors:
            inspectors.insert(0, actor)
        _check_inspectors(enterprise, inspectors)
        agency = actor.agency
    campaign: Campaign | None = data.get("campaign")
    if campaign is not None and not campaign.units_in_scope().filter(pk=enterprise.pk).exists():
        raise ServiceValidationError({"campaign": [_("This unit is not covered by the campaign.")]})
    site = data.get("site")
    if site is not None and site.enterprise_id != enterprise.pk:
        raise ServiceValidationError({"site": [_("This site belongs to another unit.")]})
    checklist = _checklist_for(
        enterprise, data.get("checklist") or (campaign.checklist if campaign else None)
    )
    if data.get("inspected_on") and data["inspected_on"] > timezone.localdate():
        raise ServiceValidationError({"inspected_on": [_("The date cannot be in the future.")]})
    inspection = Inspection(
        kind=kind,
        enterprise=enterprise,
        site=site,
        checklist=checklist,
        campaign=campaign,
        draw=data.get("draw"),
        agency=agency,
        follow_up_of=data.get("follow_up_of"),
        planned_on=data.get("planned_on"),
        inspected_on=data.get("inspected_on"),
        conducted_by=data.get("conducted_by", ""),
        summary=data.get("summary", ""),
        created_by=actor,
    )
    save_checked(inspection)
    if inspectors:
        inspection.inspectors.set(inspectors)
    Answer.objects.bulk_create(
        Answer(
            inspection=inspection,
            item=item,
            position=item.position,
            text=item.text,
            text_en=item.text_en,
            category=item.category,
            legal_basis=item.legal_basis,
            hazard_level=item.hazard_level,
        )
        for item in checklist.items.all()
    )
    return inspection


def _require_draft(actor: User, inspection: Inspection) -> None:
    if not actor.has_perm("inspections.change_inspection", inspection):
        raise PermissionDenied(
            _("A self-inspection is kept by its unit; a bureau inspection by the bureau.")
        )
    if inspection.status != Inspection.Status.DRAFT:
        raise DomainError(
            _("This inspection was submitted and is locked."),
            allowed=[],
            current_status=inspection.status,
        )


EDITABLE = (
    "site",
    "inspected_on",
    "planned_on",
    "conducted_by",
    "summary",
    "representative_name",
    "signature_text",
    "latitude",
    "longitude",
)


@transaction.atomic
def inspection_update(
    *,
    actor: User,
    inspection: Inspection,
    data: dict[str, Any],
    answers: Sequence[dict[str, Any]] | None = None,
    signature_image: Any = None,
) -> Inspection:
    """Change a draft: its fields, its inspectors and any of its answers (by checklist item)."""
    inspection = (
        Inspection.objects.select_for_update(of=("self",))
        .select_related("enterprise")
        .get(pk=inspection.pk)
    )
    _require_draft(actor, inspection)
    unknown = sorted(set(data) - set(EDITABLE) - {"inspectors"})
    if unknown:
        raise ServiceValidationError(
            {name: [_("This field cannot be changed.")] for name in unknown}
        )
    if "inspectors" in data:
        if inspection.is_self_inspection:
            raise ServiceValidationError(
                {"inspectors": [_("A self-inspection has no bureau inspectors.")]}
            )
        _check_inspectors(inspection.enterprise, data["inspectors"])
        inspection.inspectors.set(data["inspectors"])
    site = data.get("site")
    if site is not None and site.enterprise_id != inspection.enterprise_id:
        raise ServiceValidationError({"site": [_("This site belongs to another unit.")]})
    if data.get("inspected_on") and data["inspected_on"] > timezone.localdate():
        raise ServiceValidationError({"inspected_on": [_("The date cannot be in the future.")]})
    for field in EDITABLE:
        if field in data:
            setattr(inspection, field, data[field])
    if signature_image is not None:
        try:
            validate_photo(signature_image)
        except ValidationError as exc:
            raise ServiceValidationError({"signature_image": exc.messages}) from None
        inspection.signature_image.save("signature.png", signature_image, save=False)
    if answers:
        _apply_answers(inspection, answers)
    save_checked(inspection)
    return inspection


def _apply_answers(inspection: Inspection, answers: Sequence[dict[str, Any]]) -> None:
    by_item = {a.item_id: a for a in inspection.answers.all()}
    today = timezone.localdate()
    changed = []
    errors: dict[str, list[Any]] = {}
    for index, given in enumerate(answers):
        answer = by_item.get(given["item"])
        if answer is None:
            errors[f"answers[{index}].item"] = [
                _("Item %(item)s is not in this inspection's checklist.") % {"item": given["item"]}
            ]
            continue
        if given.get("deadline") and given["deadline"] < today:
            errors[f"answers[{index}].deadline"] = [_("The deadline cannot be in the past.")]
            continue
        for field in ("result", "note"):
            if field in given:
                setattr(answer, field, given[field] or "")
        if "deadline" in given:
            answer.deadline = given["deadline"]
        changed.append(answer)
    if errors:
        raise ServiceValidationError(errors)
    Answer.objects.bulk_update(changed, ["result", "note", "deadline"])


@transaction.atomic
def answer_photo_add(
    *, actor: User, inspection: Inspection, item_id: int, upload: Any
) -> AnswerPhoto:
    _require_draft(actor, inspection)
    answer = inspection.answers.filter(item_id=item_id).first()
    if answer is None:
        raise ServiceValidationError(
            {
                "item": [
                    _("Item %(item)s is not in this inspection's checklist.") % {"item": item_id}
                ]
            }
        )
    try:
        validate_photo(upload)
    except ValidationError as exc:
        raise ServiceValidationError({"file": exc.messages}) from None
    photo = AnswerPhoto(answer=answer, uploaded_by=actor)
    photo.file.save(str(getattr(upload, "name", "photo"))[-100:], upload, save=False)
    photo.save()
    return photo


def _number(inspection: Inspection, year: int) -> str:
    if inspection.is_self_inspection:
        key = f"inspection:self:{inspection.enterprise_id}:{year}"
        return f"ZC{inspection.enterprise_id}-{year}-{Counter.next_value(key):04d}"
    code = inspection.agency.jurisdiction_id if inspection.agency else "000000"
    key = f"inspection:{code}:{year}"
    return f"{code}-{year}-{Counter.next_value(key):04d}"


@transaction.atomic
def inspection_submit(*, actor: User, inspection: Inspection) -> Inspection:
    """Lock the record, give it its number, and put every failed item on the hazard ledger."""
    inspection = (
        Inspection.objects.select_for_update(of=("self",))
        .select_related("enterprise", "agency", "site")
        .get(pk=inspection.pk)
    )
    _require_draft(actor, inspection)
    if not can_proceed(inspection.submit):
        raise DomainError(_("This inspection cannot be submitted."), allowed=[])
    answers = list(inspection.answers.prefetch_related("photos"))
    errors: dict[str, list[Any]] = {}
    blank = [str(a.position) for a in answers if not a.result]
    if blank:
        errors["answers"] = [
            _("These items have no answer yet: %(items)s.") % {"items": ", ".join(blank)}
        ]
    if not inspection.inspected_on:
        errors["inspected_on"] = [_("Give the date of the inspection.")]
    inspectors = list(inspection.inspectors.all())
    if inspection.is_self_inspection:
        if not inspection.conducted_by.strip():
            errors["conducted_by"] = [_("Say who in the unit led the self-inspection.")]
    elif len(inspectors) < 2:
        errors["inspectors"] = [_("The law requires at least two officers at an inspection.")]
    if not inspection.representative_name.strip():
        errors["representative_name"] = [_("The unit's representative must be named.")]
    if not (inspection.signature_text.strip() or inspection.signature_image):
        errors["signature"] = [_("The unit's representative must sign (typed or drawn).")]
    if errors:
        raise ServiceValidationError(errors)
    assert inspection.inspected_on is not None
    inspection.inspector_names = "、".join(str(i) for i in inspectors)[:300]
    inspection.number = _number(inspection, inspection.inspected_on.year)
    inspection.submitted_by = actor
    inspection.submit()
    save_checked(inspection)
    source = (
        Hazard.Source.SELF_INSPECTION if inspection.is_self_inspection else Hazard.Source.INSPECTION
    )
    found = 0
    for answer in answers:
        if answer.result != Answer.Result.FAIL:
            continue
        description = answer.text if not answer.note else f"{answer.text}\n{answer.note}"
        hazard = hazard_record(
            actor=actor,
            enterprise=inspection.enterprise,
            site=inspection.site,
            source=source,
            level=answer.hazard_level,
            category=answer.category,
            description=description,
            legal_basis=answer.legal_basis,
            found_on=inspection.inspected_on,
            deadline=answer.deadline,
            inspection=inspection,
            answer=answer,
        )
        # The photos taken at the item are the hazard's finding evidence (same stored files).
        HazardAttachment.objects.bulk_create(
            HazardAttachment(
                hazard=hazard,
                stage=HazardAttachment.Stage.FINDING,
                kind=HazardAttachment.Kind.PHOTO,
                file=photo.file.name,
                name=photo.file.name.rsplit("/", 1)[-1][:200],
                uploaded_by_id=photo.uploaded_by_id,
            )
            for photo in answer.photos.all()
        )
        found += 1
    managers = User.objects.filter(
        Q(role__in=[Role.UNIT_PRINCIPAL, Role.UNIT_SAFETY_OFFICER]),
        enterprise_id=inspection.enterprise_id,
        is_active=True,
    ).exclude(pk=actor.pk)
    notify(
        recipients=managers,
        verb="inspection.submitted",
        params={
            "unit": inspection.enterprise.name,
            "number": inspection.number,
            "count": found,
        },
        url=f"/inspections/{inspection.pk}/",
    )
    return inspection
