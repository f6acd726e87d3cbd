"""Writes on the hazard ledger: keyword-only, one transaction each, every step on the timeline.

Pages and the API call these same functions. A step the life cycle does not allow from the
current status is a `DomainError` (409) naming the steps that are allowed; a step the actor may
not take is `PermissionDenied` (403) with the reason; bad input is `ServiceValidationError` (400)
naming the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from weibao.accounts.models import User
from weibao.core.errors import DomainError, ServiceValidationError
from weibao.core.files import sniff, validate_photo, validate_scan
from weibao.core.lifecycle import allowed_steps, require_step
from weibao.core.scoping import covers
from weibao.core.workdays import add_period
from weibao.hazards.choices import HazardLevel
from weibao.hazards.models import (
    Hazard,
    HazardAttachment,
    HazardEvent,
    HazardStatus,
    TreatmentPlan,
)
from weibao.registry.models import Enterprise, Person, Site

# fsm method name → the API action that runs it (and the word a 409 shows).
ACTIONS = {
    "start": "start",
    "submit_rectification": "submit-rectification",
    "accept": "accept",
    "reject": "reject",
    "extend": "extend",
    "cancel": "cancel",
}


def default_deadline(level: str, found_on: date) -> date:
    """The deadline a hazard gets when nobody gives one (settings.HAZARD_DEADLINES)."""
    count, working = settings.HAZARD_DEADLINES[level]
    start = max(found_on, timezone.localdate())
    return add_period(start, count, working)


def allowed_actions(hazard: Hazard) -> list[str]:
    return allowed_steps(hazard, ACTIONS)


def _require_step(hazard: Hazard, method: str) -> None:
    require_step(hazard, method, ACTIONS)


def _event(
    hazard: Hazard,
    action: str,
    actor: User | None,
    *,
    before: str = "",
    note: str = "",
    data: dict[str, Any] | None = None,
) -> HazardEvent:
    return HazardEvent.objects.create(
        hazard=hazard,
        action=action,
        from_status=before,
        to_status=hazard.status,
        actor=actor,
        note=note,
        data=data or {},
    )


def _save(hazard: Hazard) -> None:
    hazard.full_clean()
    hazard.save()


def _attach(
    hazard: Hazard,
    event: HazardEvent | None,
    actor: User,
    stage: str,
    uploads: Iterable[Any],
    field: str,
) -> list[HazardAttachment]:
    """Store uploads (photos by content type; PDFs as documents), checking every one first so a
    bad file rejects the whole step."""
    checked: list[tuple[Any, HazardAttachment.Kind]] = []
    for index, upload in enumerate(uploads):
        kind = (
            HazardAttachment.Kind.DOCUMENT
            if sniff(upload) == "application/pdf"
            else HazardAttachment.Kind.PHOTO
        )
        try:
            (validate_photo if kind == HazardAttachment.Kind.PHOTO else validate_scan)(upload)
        except ValidationError as exc:
            raise ServiceValidationError({f"{field}[{index}]": exc.messages}) from None
        checked.append((upload, kind))
    rows = []
    for upload, kind in checked:
        attachment = HazardAttachment(
            hazard=hazard,
            event=event,
            stage=stage,
            kind=kind,
            name=str(getattr(upload, "name", "") or "file")[-200:],
            uploaded_by=actor,
        )
        attachment.file.save(attachment.name, upload, save=False)
        attachment.save()
        rows.append(attachment)
    return rows


def _resolve_deadline(
    *, level: str, found_on: date, deadline: date | None, working_days: int | None
) -> date:
    if deadline is not None and working_days is not None:
        raise ServiceValidationError(
            {"deadline": [_("Give either a deadline or a number of working days, not both.")]}
        )
    if working_days is not None:
        return add_period(max(found_on, timezone.localdate()), working_days, True)
    if deadline is None:
        return default_deadline(level, found_on)
    if deadline < timezone.localdate():
        raise ServiceValidationError({"deadline": [_("The deadline cannot be in the past.")]})
    if deadline < found_on:
        raise ServiceValidationError(
            {"deadline": [_("The deadline cannot be before the day the hazard was found.")]}
        )
    return deadline


def _check_belongs(enterprise: Enterprise, site: Site | None, person: Person | None) -> None:
    if site is not None and site.enterprise_id != enterprise.pk:
        raise ServiceValidationError({"site": [_("This site belongs to another unit.")]})
    if person is not None and person.enterprise_id != enterprise.pk:
        raise ServiceValidationError(
            {"responsible_person": [_("This person works for another unit.")]}
        )


def hazard_record(
    *,
    actor: User | None,
    enterprise: Enterprise,
    source: str,
    level: str,
    category: str,
    description: str,
    found_on: date,
    deadline: date | None = None,
    working_days: int | None = None,
    site: Site | None = None,
    responsible_person: Person | None = None,
    legal_basis: str = "",
    inspection: Any = None,
    answer: Any = None,
    photos: Sequence[Any] = (),
) -> Hazard:
    """Put a hazard on the ledger (no permission check: callers decide who may; see
    `hazard_create` for the one users call directly)."""
    if found_on > timezone.localdate():
        raise ServiceValidationError({"found_on": [_("A hazard cannot be found in the future.")]})
    _check_belongs(enterprise, site, responsible_person)
    hazard = Hazard(
        enterprise=enterprise,
        site=site,
        source=source,
        level=level,
        category=category,
        description=description,
        legal_basis=legal_basis,
        found_on=found_on,
        deadline=_resolve_deadline(
            level=level, found_on=found_on, deadline=deadline, working_days=working_days
        ),
        responsible_person=responsible_person,
        inspection=inspection,
        answer=answer,
        created_by=actor,
    )
    _save(hazard)
    event = _event(hazard, HazardEvent.Action.CREATED, actor)
    if photos:
        _attach(hazard, event, actor or hazard.created_by, "finding", photos, "photos")  # type: ignore[arg-type]
    return hazard


@transaction.atomic
def hazard_create(*, actor: User, data: dict[str, Any], photos: Sequence[Any] = ()) -> Hazard:
    """A hazard recorded by hand: by a regulator (any source but the unit's own) or by the unit
    itself (its own self-inspection findings)."""
    enterprise: Enterprise = data["enterprise"]
    source = data.get("source") or (
        Hazard.Source.SELF_INSPECTION if actor.is_unit_user else Hazard.Source.INSPECTION
    )
    if actor.is_unit_user:
        if not (actor.is_unit_manager and actor.enterprise_id == enterprise.pk):
            raise PermissionDenied(
                _("Only the unit's principal or safety officer records its hazards.")
            )
        if source != Hazard.Source.SELF_INSPECTION:
            raise ServiceValidationError(
                {"source": [_("A unit records the hazards it finds itself (self-inspection).")]}
            )
    elif not (
        actor.is_system_admin or (actor.is_regulator and covers(actor, enterprise.jurisdiction_id))
    ):
        raise PermissionDenied(_("This unit is outside your jurisdiction."))
    elif source in Hazard.UNIT_SOURCES:
        raise ServiceValidationError(
            {"source": [_("Self-inspection and internal-report hazards come from the unit.")]}
        )
    return hazard_record(
        actor=actor,
        enterprise=enterprise,
        source=source,
        level=data["level"],
        category=data["category"],
        description=data["description"],
        legal_basis=data.get("legal_basis", ""),
        found_on=data.get("found_on") or timezone.localdate(),
        deadline=data.get("deadline"),
        working_days=data.get("working_days"),
        site=data.get("site"),
        responsible_person=data.get("responsible_person"),
        photos=photos,
    )


def denial_reason(action: str, hazard: Hazard) -> str | None:
    """Why a user without the permission for `action` (an fsm/perm name) may not take it."""
    if action in {"accept", "reject", "cancel"}:
        if hazard.accepted_by_unit:
            return _(
                "The unit's principal or safety officer decides on the unit's own general hazards."
            )
        return _(
            "Hazards found by the bureau, and every major hazard, are decided by the supervising "
            "bureau."
        )
    if action in {"start", "submit_rectification", "plan"}:
        return _("The unit's principal or safety officer does the rectification of its hazards.")
    if action == "extend":
        return _("Only the supervising bureau extends this hazard's deadline.")
    if action == "follow_up":
        return _("Only the supervising bureau schedules follow-up inspections.")
    return None


def _check(actor: User, action: str, hazard: Hazard) -> None:
    if not actor.has_perm(f"hazards.{action}_hazard", hazard):
        raise PermissionDenied(denial_reason(action, hazard))


@transaction.atomic
def hazard_plan_save(*, actor: User, hazard: Hazard, data: dict[str, Any]) -> TreatmentPlan:
    """Save the treatment plan (治理方案); any hazard may have one, a major hazard needs one."""
    hazard = _locked(hazard)
    _check(actor, "plan", hazard)
    if hazard.status not in (HazardStatus.OPEN, HazardStatus.RECTIFYING):
        raise DomainError(
            _("The treatment plan can only change before the rectification is handed in."),
            allowed=allowed_actions(hazard),
            current_status=hazard.status,
        )
    plan = getattr(hazard, "plan", None) or TreatmentPlan(hazard=hazard)
    for field, value in data.items():
        setattr(plan, field, value)
    if plan.deadline is not None and plan.deadline < timezone.localdate():
        raise ServiceValidationError({"deadline": [_("The deadline cannot be in the past.")]})
    plan.full_clean()
    plan.save()
    hazard.plan = plan
    _event(hazard, HazardEvent.Action.PLAN, actor, before=hazard.status)
    return plan


def _locked(hazard: Hazard) -> Hazard:
    """Re-read the hazard under a row lock: two officers acting at once take turns."""
    locked: Hazard = (
        Hazard.objects.select_for_update(of=("self",))
        .select_related("enterprise")
        .get(pk=hazard.pk)
    )
    return locked


@transaction.atomic
def hazard_start(*, actor: User, hazard: Hazard, plan: dict[str, Any] | None = None) -> Hazard:
    hazard = _locked(hazard)
    _check(actor, "start", hazard)
    _require_step(hazard, "start")
    if plan:
        hazard_plan_save(actor=actor, hazard=hazard, data=plan)
    if hazard.level == HazardLevel.MAJOR and not hazard.has_complete_plan():
        current = getattr(hazard, "plan", None)
        missing = current.missing_elements() if current else list(TreatmentPlan.ELEMENTS)
        raise ServiceValidationError(
            {
                f"plan.{name}": [
                    _("A major hazard needs a treatment plan with this element before work starts.")
                ]
                for name in missing
            }
        )
    before = hazard.status
    hazard.start()
    _save(hazard)
    _event(hazard, HazardEvent.Action.START, actor, before=before)
    return hazard


@transaction.atomic
def hazard_submit_rectification(
    *, actor: User, hazard: Hazard, note: str, files: Sequence[Any] = ()
) -> Hazard:
    hazard = _locked(hazard)
    _check(actor, "submit_rectification", hazard)
    _require_step(hazard, "submit_rectification")
    if not note.strip():
        raise ServiceValidationError({"note": [_("Describe what was done to remove the hazard.")]})
    before = hazard.status
    hazard.submit_rectification()
    hazard.rectification_note = note
    _save(hazard)
    event = _event(hazard, HazardEvent.Action.SUBMIT_RECTIFICATION, actor, before=before, note=note)
    _attach(hazard, event, actor, HazardAttachment.Stage.RECTIFICATION, files, "files")
    return hazard


@transaction.atomic
def hazard_accept(
    *, actor: User, hazard: Hazard, opinion: str = "", files: Sequence[Any] = ()
) -> Hazard:
    hazard = _locked(hazard)
    _check(actor, "accept", hazard)
    _require_step(hazard, "accept")
    before = hazard.status
    hazard.accept()
    hazard.accepted_by = actor
    hazard.acceptance_opinion = opinion or _("Rectified; accepted.")
    _save(hazard)
    event = _event(hazard, HazardEvent.Action.ACCEPT, actor, before=before, note=opinion)
    _attach(hazard, event, actor, HazardAttachment.Stage.ACCEPTANCE, files, "files")
    return hazard


@transaction.atomic
def hazard_reject(*, actor: User, hazard: Hazard, reason: str) -> Hazard:
    hazard = _locked(hazard)
    _check(actor, "reject", hazard)
    _require_step(hazard, "reject")
    if not reason.strip():
        raise ServiceValidationError({"reason": [_("Say why the rectification is not accepted.")]})
    before = hazard.status
    hazard.reject()
    _save(hazard)
    _event(hazard, HazardEvent.Action.REJECT, actor, before=before, note=reason)
    return hazard


@transaction.atomic
def hazard_extend(
    *,
    actor: User,
    hazard: Hazard,
    reason: str,
    deadline: date | None = None,
    working_days: int | None = None,
) -> Hazard:
    """A new deadline with a reason; beyond settings.HAZARD_FREE_EXTENSIONS only the city bureau
    may extend (its officer's extension is the approval, recorded as such)."""
    hazard = _locked(hazard)
    _check(actor, "extend", hazard)
    _require_step(hazard, "extend")
    if not reason.strip():
        raise ServiceValidationError({"reason": [_("Give the reason for the extension.")]})
    if deadline is None and working_days is None:
        raise ServiceValidationError(
            {"deadline": [_("Give the new deadline or a number of working days.")]}
        )
    city_approval = hazard.extension_count >= settings.HAZARD_FREE_EXTENSIONS
    if city_approval and not (actor.is_city_regulator or actor.is_system_admin):
        raise PermissionDenied(
            _("This deadline was already extended; a further extension needs the city bureau.")
        )
    new = _resolve_deadline(
        level=hazard.level, found_on=hazard.found_on, deadline=deadline, working_days=working_days
    )
    if new <= hazard.deadline:
        raise ServiceValidationError(
            {"deadline": [_("The new deadline must be later than the current one.")]}
        )
    old = hazard.deadline
    hazard.extend()
    hazard.deadline = new
    _save(hazard)
    _event(
        hazard,
        HazardEvent.Action.EXTEND,
        actor,
        before=hazard.status,
        note=reason,
        data={"from": old.isoformat(), "to": new.isoformat(), "city_approved": city_approval},
    )
    return hazard


@transaction.atomic
def hazard_cancel(*, actor: User, hazard: Hazard, reason: str) -> Hazard:
    hazard = _locked(hazard)
    _check(actor, "cancel", hazard)
    _require_step(hazard, "cancel")
    if not reason.strip():
        raise ServiceValidationError({"reason": [_("Give the reason for cancelling.")]})
    before = hazard.status
    hazard.cancel()
    hazard.cancel_reason = reason
    _save(hazard)
    _event(hazard, HazardEvent.Action.CANCEL, actor, before=before, note=reason)
    return hazard


@transaction.atomic
def hazard_attach(*, actor: User, hazard: Hazard, files: Sequence[Any]) -> list[HazardAttachment]:
    """More photos or documents for a hazard still being handled (by its unit or its bureau)."""
    hazard = _locked(hazard)
    if not (
        actor.has_perm("hazards.plan_hazard", hazard)
        or actor.has_perm("hazards.follow_up_hazard", hazard)
    ):
        raise PermissionDenied(_("You may not add files to this hazard."))
    if hazard.status not in (HazardStatus.OPEN, HazardStatus.RECTIFYING):
        raise DomainError(
            _("Files can be added only while the hazard is open or being rectified."),
            allowed=allowed_actions(hazard),
            current_status=hazard.status,
        )
    if not files:
        raise ServiceValidationError({"files": [_("Choose at least one file.")]})
    stage = (
        HazardAttachment.Stage.FINDING
        if hazard.status == HazardStatus.OPEN
        else HazardAttachment.Stage.RECTIFICATION
    )
    event = _event(hazard, HazardEvent.Action.ATTACHMENT, actor, before=hazard.status)
    return _attach(hazard, event, actor, stage, files, "files")


@transaction.atomic
def hazard_schedule_follow_up(
    *, actor: User, hazard: Hazard, planned_on: date | None = None
) -> Any:
    """One step from an overdue (or any unresolved) hazard to a draft follow-up inspection of
    its unit and site, with the acting officer as first inspector."""
    from weibao.inspections.services import inspection_create

    hazard = _locked(hazard)
    _check(actor, "follow_up", hazard)
    if hazard.status not in (
        HazardStatus.OPEN,
        HazardStatus.RECTIFYING,
        HazardStatus.AWAITING_ACCEPTANCE,
    ):
        raise DomainError(
            _("A closed or cancelled hazard needs no follow-up inspection."),
            allowed=allowed_actions(hazard),
            current_status=hazard.status,
        )
    if planned_on is not None and planned_on < timezone.localdate():
        raise ServiceValidationError({"planned_on": [_("The date cannot be in the past.")]})
    inspection = inspection_create(
        actor=actor,
        data={
            "kind": "follow_up",
            "enterprise": hazard.enterprise,
            "site": hazard.site,
            "follow_up_of": hazard,
            "planned_on": planned_on or timezone.localdate(),
            "inspectors": [actor],
        },
    )
    _event(
        hazard,
        HazardEvent.Action.FOLLOW_UP,
        actor,
        before=hazard.status,
        data={"inspection": inspection.pk},
    )
    return inspection
