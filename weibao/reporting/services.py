"""Writes on internal reports: keyword-only, one transaction each, every step on the timeline.

The public reporting page, the employee's page and the API call these same functions. A step the
status does not allow is a `DomainError` (409) naming the allowed steps; a step the actor may not
take is `PermissionDenied` (403) with the reason; bad input is `ServiceValidationError` (400)
naming the field.

Nothing the reporter does is recorded under their account: submission and escalation run under
an anonymous acting context, so audit entries, timeline rows and notifications carry no actor.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from weibao.accounts.models import Agency, User
from weibao.core import audit, context
from weibao.core.errors import DomainError, ServiceValidationError, clean_and_save
from weibao.core.lifecycle import allowed_steps, require_step
from weibao.core.notifications import notify
from weibao.core.workdays import add_period
from weibao.hazards.models import Hazard
from weibao.hazards.services import hazard_record
from weibao.registry.models import Enterprise, Person, Site
from weibao.reporting import receipts
from weibao.reporting.models import (
    UNVERIFIED,
    InternalReport,
    ReportChannel,
    ReporterIdentity,
    ReportEvent,
    ReportPhoto,
)
from weibao.reporting.photos import clean_photo
from weibao.reporting.rules import may_handle_complaint, may_see_identity, may_verify

# fsm method name → the API action that runs it (and the word a 409 shows).
ACTIONS = {
    "start": "start",
    "confirm": "confirm",
    "reject": "reject",
    "mark_duplicate": "duplicate",
    "reward": "reward",
}

DESCRIPTION_MAX = 2000
NOTE_MAX = 2000
PHONE_RE = re.compile(r"^\+?[0-9][0-9 \-]{4,24}$")


def allowed_actions(report: InternalReport) -> list[str]:
    return allowed_steps(report, ACTIONS)


def _require_step(report: InternalReport, method: str) -> None:
    require_step(report, method, ACTIONS)


_save = clean_and_save


def _event(
    report: InternalReport,
    action: str,
    actor: User | None,
    *,
    before: str = "",
    note: str = "",
) -> ReportEvent:
    return ReportEvent.objects.create(
        report=report,
        action=action,
        from_status=before,
        to_status=report.status,
        actor=actor,
        note=note,
    )


def _tell_reporter(report: InternalReport) -> None:
    """A reporter who reported under their account hears of each step (anonymous ones check
    the status page with their receipt code). Notifications are personal: nobody else reads
    this one, so it links the account to the report without showing it to the unit."""
    identity = ReporterIdentity.objects.filter(report=report, user__isnull=False).first()
    if identity is None or identity.user is None:
        return
    notify(
        recipients=[identity.user],
        verb="report.updated",
        params={"unit": report.enterprise.name, "reference": report.reference},
        url="/reports/mine/",
    )


def _text(value: Any, field: str, *, limit: int, required: bool) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise ServiceValidationError({field: [_("This field is required.")]})
    if len(text) > limit:
        raise ServiceValidationError(
            {field: [_("Use at most %(limit)d characters.") % {"limit": limit}]}
        )
    return text


def _anonymous_context() -> Any:
    """Run the reporter's writes with no actor: the audit trail says "reporter", not who."""
    current = context.current()
    return context.acting_as(label="reporter", request_id=current.request_id if current else None)


# --- the unit's channel and policy -----------------------------------------------------------
def _new_token() -> str:
    return secrets.token_urlsafe(18)


def channel_for(enterprise: Enterprise) -> ReportChannel:
    """The unit's channel, opened with the default policy the first time it is asked for."""
    existing: ReportChannel | None = ReportChannel.objects.filter(enterprise=enterprise).first()
    if existing is not None:
        return existing
    count, working = settings.REPORT_VERIFY_PERIOD
    with transaction.atomic():
        channel, _created = ReportChannel.objects.get_or_create(
            enterprise=enterprise,
            defaults={
                "token": _new_token(),
                "reward_general": Decimal(settings.REPORT_REWARD_GENERAL),
                "reward_major": Decimal(settings.REPORT_REWARD_MAJOR),
                "reward_cap": Decimal(settings.REPORT_REWARD_CAP),
                "verify_within": count,
                "verify_in_working_days": working,
            },
        )
    return channel


POLICY_FIELDS = (
    "is_open",
    "reward_general",
    "reward_major",
    "reward_cap",
    "verify_within",
    "verify_in_working_days",
    "payout_instructions",
)


@transaction.atomic
def channel_save(*, actor: User, channel: ReportChannel, data: dict[str, Any]) -> ReportChannel:
    """The unit sets its own reward policy (its principal or safety officer)."""
    if not may_verify(actor, channel):
        raise PermissionDenied(_("Only the unit's principal or safety officer sets its policy."))
    channel = ReportChannel.objects.select_for_update().get(pk=channel.pk)
    for name in POLICY_FIELDS:
        if name in data:
            setattr(channel, name, data[name])
    cap = channel.reward_cap
    for name in ("reward_general", "reward_major"):
        if cap is not None and getattr(channel, name) is not None and getattr(channel, name) > cap:
            raise ServiceValidationError(
                {name: [_("The reward cannot exceed the most paid for one report.")]}
            )
    _save(channel)
    return channel


@transaction.atomic
def channel_rotate(*, actor: User, channel: ReportChannel) -> ReportChannel:
    """A new reporting code: posters with the old one stop working (print new ones)."""
    if not may_verify(actor, channel):
        raise PermissionDenied(_("Only the unit's principal or safety officer sets its policy."))
    channel = ReportChannel.objects.select_for_update().get(pk=channel.pk)
    channel.token = _new_token()
    channel.save()
    return channel


# --- reporting -----------------------------------------------------------------------------
def _check_photos(photos: Sequence[Any]) -> list[Any]:
    if len(photos) > settings.REPORT_MAX_PHOTOS:
        raise ServiceValidationError(
            {
                "photos": [
                    _("Attach at most %(count)d photos.") % {"count": settings.REPORT_MAX_PHOTOS}
                ]
            }
        )
    cleaned = []
    for index, upload in enumerate(photos):
        try:
            cleaned.append(clean_photo(upload))
        except ValidationError as exc:
            raise ServiceValidationError({f"photos[{index}]": exc.messages}) from None
    return cleaned


def _submit(
    *,
    enterprise: Enterprise,
    via: str,
    data: dict[str, Any],
    photos: Sequence[Any],
    user: User | None,
) -> tuple[InternalReport, str]:
    """Validate everything first, then write the report, its identity and photos together."""
    category = data.get("category") or ""
    if category not in InternalReport.Category.values:
        raise ServiceValidationError({"category": [_("Choose one of the four categories.")]})
    description = _text(
        data.get("description"), "description", limit=DESCRIPTION_MAX, required=True
    )
    location = _text(data.get("location"), "location", limit=200, required=False)
    site: Site | None = data.get("site")
    if site is not None and site.enterprise_id != enterprise.pk:
        raise ServiceValidationError({"site": [_("This site belongs to another unit.")]})
    if site is None and not location:
        raise ServiceValidationError(
            {"location": [_("Say where: choose a site or describe the place.")]}
        )
    anonymous = bool(data.get("anonymous", False))
    name = "" if anonymous else _text(data.get("name"), "name", limit=100, required=False)
    phone = "" if anonymous else _text(data.get("phone"), "phone", limit=40, required=False)
    if phone and not PHONE_RE.match(phone):
        raise ServiceValidationError({"phone": [_("Enter a phone number (digits only).")]})
    linked_user = None if anonymous else user
    if linked_user is not None:
        name = name or linked_user.full_name or linked_user.username
    named = bool(name or phone or linked_user is not None)
    cleaned = _check_photos(photos)

    channel = channel_for(enterprise)
    today = timezone.localdate()
    code = receipts.new_code()
    with _anonymous_context(), transaction.atomic():
        report = InternalReport(
            enterprise=enterprise,
            via=via,
            category=category,
            site=site,
            location=location,
            description=description,
            anonymous=not named,
            submitted_on=today,
            verify_by=add_period(today, channel.verify_within, channel.verify_in_working_days),
            receipt_hash=receipts.digest(code),
        )
        _save(report)
        if named:
            ReporterIdentity.objects.create(
                report=report,
                name=name,
                phone=phone,
                user=linked_user,
                consent_to_unit=bool(data.get("consent_to_unit", False)),
            )
        for content in cleaned:
            photo = ReportPhoto(report=report)
            photo.file.save(content.name or "photo.jpg", content, save=False)
            photo.save()
        _event(report, ReportEvent.Action.SUBMITTED, None)
        managers = User.objects.filter(
            enterprise=enterprise, role__in=["unit_principal", "unit_safety_officer"]
        )
        notify(
            recipients=managers,
            verb="report.submitted",
            params={
                "unit": enterprise.name,
                "reference": report.reference,
                "deadline": report.verify_by.isoformat(),
            },
            url=f"/reports/{report.pk}/",
        )
    return report, code


def report_submit_public(
    *, token: str, data: dict[str, Any], photos: Sequence[Any] = ()
) -> tuple[InternalReport, str]:
    """A report through the unit's QR code, without login. Returns the report and its receipt
    code (shown once, never stored)."""
    channel = (
        ReportChannel.objects.select_related("enterprise").filter(token=str(token)[:40]).first()
        if token
        else None
    )
    if channel is None or not channel.is_open:
        raise ServiceValidationError(
            {"unit_token": [_("This reporting code is not valid; scan the unit's poster again.")]}
        )
    return _submit(enterprise=channel.enterprise, via="qr", data=data, photos=photos, user=None)


def report_submit_account(
    *, actor: User, data: dict[str, Any], photos: Sequence[Any] = ()
) -> tuple[InternalReport, str]:
    """A report by a signed-in member of the unit, about their own unit. Named reports are
    linked to the account (so the reporter sees them); anonymous ones are not linked at all."""
    if not actor.is_unit_user or actor.enterprise is None:
        raise PermissionDenied(_("Only a unit's own staff report hazards to it."))
    return _submit(enterprise=actor.enterprise, via="account", data=data, photos=photos, user=actor)


# --- the unit verifies and rewards -----------------------------------------------------------
def _check(actor: User, report: InternalReport) -> None:
    if not may_verify(actor, report):
        raise PermissionDenied(
            _("Only the unit's principal or safety officer verifies its reports.")
        )


def _locked(report: InternalReport) -> InternalReport:
    locked: InternalReport = (
        InternalReport.objects.select_for_update(of=("self",))
        .select_related("enterprise")
        .get(pk=report.pk)
    )
    return locked


@transaction.atomic
def report_start(*, actor: User, report: InternalReport, note: str = "") -> InternalReport:
    _check(actor, report)
    report = _locked(report)
    _require_step(report, "start")
    before = report.status
    report.start()
    _save(report)
    _event(report, ReportEvent.Action.START, actor, before=before, note=_note(note))
    _tell_reporter(report)
    return report


def _note(value: Any, field: str = "note", *, required: bool = False) -> str:
    return _text(value, field, limit=NOTE_MAX, required=required)


@transaction.atomic
def report_confirm(
    *,
    actor: User,
    report: InternalReport,
    level: str,
    hazard_category: str,
    reply: str = "",
    description: str = "",
    deadline: date | None = None,
    working_days: int | None = None,
    site: Site | None = None,
    responsible_person: Person | None = None,
) -> InternalReport:
    """Confirmed: the hazard goes on the ledger (source internal_report, linked both ways) with
    the report's photos, and the reward is proposed from the unit's policy."""
    _check(actor, report)
    report = _locked(report)
    _require_step(report, "confirm")
    if level not in Hazard.Level.values:
        raise ServiceValidationError({"level": [_("Choose general or major.")]})
    if hazard_category not in Hazard.Category.values:
        raise ServiceValidationError({"hazard_category": [_("Choose a hazard category.")]})
    reply = _note(reply, "reply")
    text = _text(description, "description", limit=DESCRIPTION_MAX, required=False)
    hazard = hazard_record(
        actor=actor,
        enterprise=report.enterprise,
        source=Hazard.Source.INTERNAL_REPORT,
        level=level,
        category=hazard_category,
        description=text or report.description,
        found_on=report.submitted_on,
        deadline=deadline,
        working_days=working_days,
        site=site if site is not None else report.site,
        responsible_person=responsible_person,
        photos=[_stored(photo) for photo in report.photos.all()],
    )
    before = report.status
    report.confirm()
    report.hazard = hazard
    report.decided_by = actor
    report.reply = reply
    report.reward_proposed = channel_for(report.enterprise).proposed_reward(level)
    _save(report)
    _event(report, ReportEvent.Action.CONFIRM, actor, before=before, note=reply)
    _tell_reporter(report)
    return report


def _stored(photo: ReportPhoto) -> Any:
    """A stored report photo as an upload for the hazard (already cleaned; copied, not moved)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    with photo.file.open("rb") as handle:
        return SimpleUploadedFile(f"report-{photo.pk}.jpg", handle.read(), "image/jpeg")


@transaction.atomic
def report_reject(*, actor: User, report: InternalReport, reason: str) -> InternalReport:
    """Not confirmed, with the reason the reporter reads on their status page."""
    _check(actor, report)
    report = _locked(report)
    _require_step(report, "reject")
    reason = _note(reason, "reason", required=True)
    before = report.status
    report.reject()
    report.reply = reason
    report.decided_by = actor
    _save(report)
    _event(report, ReportEvent.Action.REJECT, actor, before=before, note=reason)
    _tell_reporter(report)
    return report


@transaction.atomic
def report_mark_duplicate(
    *, actor: User, report: InternalReport, original: InternalReport, reply: str = ""
) -> InternalReport:
    """The same hazard was reported before: linked to the earliest report of it."""
    _check(actor, report)
    report = _locked(report)
    _require_step(report, "mark_duplicate")
    if original.enterprise_id != report.enterprise_id:
        raise ServiceValidationError(
            {"duplicate_of": [_("The earlier report belongs to another unit.")]}
        )
    while original.duplicate_of_id is not None:
        original = InternalReport.objects.get(pk=original.duplicate_of_id)
    if original.pk == report.pk or (original.submitted_at, original.pk) > (
        report.submitted_at,
        report.pk,
    ):
        raise ServiceValidationError({"duplicate_of": [_("Choose a report made before this one.")]})
    reply = _note(reply, "reply")
    before = report.status
    report.mark_duplicate()
    report.duplicate_of = original
    report.reply = reply or _("The same hazard was reported earlier (%(reference)s).") % {
        "reference": original.reference
    }
    report.decided_by = actor
    _save(report)
    _event(report, ReportEvent.Action.DUPLICATE, actor, before=before, note=report.reply)
    _tell_reporter(report)
    return report


@transaction.atomic
def report_reward(
    *,
    actor: User,
    report: InternalReport,
    amount: Decimal,
    paid_on: date,
    reference: str = "",
) -> InternalReport:
    """The reward is paid (once): at most the policy's cap, on a date after the confirmation."""
    _check(actor, report)
    report = _locked(report)
    _require_step(report, "reward")
    channel = channel_for(report.enterprise)
    if amount is None or amount <= 0:
        raise ServiceValidationError({"amount": [_("The reward must be more than zero.")]})
    if amount > channel.reward_cap:
        raise ServiceValidationError(
            {
                "amount": [
                    _("The unit's policy pays at most %(cap)s yuan for one report.")
                    % {"cap": channel.reward_cap}
                ]
            }
        )
    if paid_on > timezone.localdate():
        raise ServiceValidationError({"paid_on": [_("The payment date cannot be in the future.")]})
    if report.decided_on is not None and paid_on < report.decided_on:
        raise ServiceValidationError(
            {"paid_on": [_("The reward cannot be paid before the report was confirmed.")]}
        )
    before = report.status
    report.reward()
    report.reward_amount = amount
    report.reward_paid_on = paid_on
    report.reward_reference = _text(reference, "reference", limit=100, required=False)
    report.rewarded_by = actor
    _save(report)
    _event(report, ReportEvent.Action.REWARD, actor, before=before)
    _tell_reporter(report)
    return report


# --- the reporter raises it; the bureau handles the complaint --------------------------------
def report_escalate(*, receipt: str, note: str = "") -> InternalReport:
    """The reporter raises a report the unit left unverified past its limit to the county
    bureau. A code that matches nothing is the same "not found" as on the status page."""
    from weibao.reporting.selectors import report_by_receipt

    found = report_by_receipt(receipt)
    if found is None:
        raise ReceiptNotFound()
    note = _note(note)
    with _anonymous_context(), transaction.atomic():
        report = _locked(found)
        if report.escalated_at is not None:
            raise DomainError(_("This report was already raised to the bureau."))
        if not (report.status in UNVERIFIED and report.verify_by < timezone.localdate()):
            raise DomainError(
                _(
                    "A report can be raised to the bureau once the unit's time limit "
                    "(%(date)s) has passed without a decision."
                )
                % {"date": report.verify_by.isoformat()}
            )
        report.escalated_at = timezone.now()
        report.escalation_note = note
        _save(report)
        _event(report, ReportEvent.Action.ESCALATED, None, note=note)
        officers = User.objects.filter(
            role="county_regulator",
            is_active=True,
            agency__kind=Agency.Kind.COUNTY_BUREAU,
            agency__jurisdiction_id=report.enterprise.jurisdiction_id,
        )
        notify(
            recipients=officers,
            verb="report.escalated",
            params={"unit": report.enterprise.name, "reference": report.reference},
            url=f"/reports/{report.pk}/",
        )
    return report


@transaction.atomic
def report_handle_complaint(*, actor: User, report: InternalReport, reply: str) -> InternalReport:
    """The bureau's answer to a raised report; the reporter reads it on the status page."""
    if not may_handle_complaint(actor, report):
        raise PermissionDenied(_("Only a regulator supervising this unit handles the complaint."))
    report = _locked(report)
    if not report.complaint_open:
        raise DomainError(_("There is no open complaint on this report."))
    report.complaint_reply = _note(reply, "reply", required=True)
    report.complaint_handled_at = timezone.now()
    report.complaint_handled_by = actor
    _save(report)
    _event(report, ReportEvent.Action.COMPLAINT_HANDLED, actor, note=report.complaint_reply)
    _tell_reporter(report)
    return report


class ReceiptNotFound(Exception):
    """No report has this receipt code (or it is malformed: the same answer either way)."""


# --- identity --------------------------------------------------------------------------------
@transaction.atomic
def identity_reveal(*, actor: User, report: InternalReport) -> ReporterIdentity:
    """The reporter's name and phone, for those allowed (rules.may_see_identity); each look is an
    audit entry ("view") with who looked and when."""
    identity: ReporterIdentity | None = (
        ReporterIdentity.objects.visible_to(actor).filter(report=report).first()
    )
    if identity is None or not may_see_identity(actor, report):
        raise PermissionDenied(_("The reporter's identity is not shown to you."))
    current = context.current()
    # Named explicitly: the entry must say who looked even when no request carries a user.
    with context.acting_as(actor, request_id=current.request_id if current else None):
        audit.record(identity, "view", None, None)
    return identity
