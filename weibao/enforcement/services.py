"""Writes on cases and legal provisions: keyword-only, one transaction each, every step on the
timeline with the document it issued.

Pages, the API, the escalation job and the demo call these same functions. A step the procedure
does not allow from the current status is a `DomainError` (409) naming the allowed steps; a step
the actor may not take is `PermissionDenied` (403) with the reason; bad input is
`ServiceValidationError` (400) naming the field. Nothing is written when any check fails.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from weibao.accounts.models import Agency, User
from weibao.core.errors import DomainError, ServiceValidationError, clean_and_save
from weibao.core.files import sniff, validate_scan
from weibao.core.lifecycle import allowed_steps, require_step
from weibao.core.models import Counter
from weibao.core.scoping import covers
from weibao.core.workdays import add_period
from weibao.enforcement.models import (
    FINE_KINDS,
    PERMIT_KINDS,
    Case,
    CaseDocument,
    CaseEvent,
    CaseReview,
    CaseStatus,
    LegalProvision,
    PenaltyItem,
    PenaltyKind,
)
from weibao.enforcement.models.cases import BEFORE_DECISION, EDITABLE
from weibao.enforcement.models.provisions import HEARING_KINDS
from weibao.registry.models import Enterprise, Permit

# fsm method name → the API action that runs it (and the word a 409 shows).
ACTIONS = {
    "register": "register",
    "investigate": "investigate",
    "notify": "notify",
    "decide": "decide",
    "execute": "execute",
    "close": "close",
    "drop": "drop",
}


# --- small shared steps --------------------------------------------------------------------
def period(setting: tuple[int, bool], start: date) -> date:
    count, working = setting
    return add_period(start, count, working)


def allowed_actions(case: Case) -> list[str]:
    return allowed_steps(case, ACTIONS)


def _require_step(case: Case, method: str) -> None:
    require_step(case, method, ACTIONS)


def _require_status(case: Case, statuses: Iterable[str], message: str) -> None:
    if case.status not in statuses:
        raise DomainError(message, allowed=allowed_actions(case), current_status=case.status)


def denial_reason(action: str, case: Case | None = None) -> str:
    if action == "review":
        return _("A city officer who did not handle the case reviews its quality.")
    if case is not None and case.status == CaseStatus.PROPOSED:
        return _("Only a regulator supervising this unit handles its cases.")
    return _("Only the case's handling officers, or the city bureau, take steps on this case.")


def _check(actor: User, action: str, case: Case) -> None:
    if not actor.has_perm(f"enforcement.{action}_case", case):
        raise PermissionDenied(denial_reason(action, case))


def _locked(case: Case) -> Case:
    """Re-read the case under a row lock: two officers acting at once take turns."""
    locked: Case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("enterprise", "agency")
        .get(pk=case.pk)
    )
    return locked


_save = clean_and_save


def _event(
    case: Case,
    action: str,
    actor: User | None,
    *,
    before: str = "",
    note: str = "",
    data: dict[str, Any] | None = None,
    document: CaseDocument | None = None,
) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case,
        action=action,
        from_status=before,
        to_status=case.status,
        actor=actor,
        note=note,
        data=data or {},
        document=document,
    )


def _issue(case: Case, kind: str, actor: User | None) -> CaseDocument:
    """Generate and store the step's document from the case as recorded now, in the document
    language (settings.CASE_DOCUMENT_LANGUAGE), not the language of the officer's screen."""
    from weibao.enforcement import documents

    with translation.override(settings.CASE_DOCUMENT_LANGUAGE):
        return documents.issue(case=case, kind=kind, actor=actor)


def store_uploads(
    case: Case, kind: str, uploads: Sequence[Any], actor: User | None, field: str = "files"
) -> list[CaseDocument]:
    """Keep uploaded scans (PDF, JPEG or PNG) in the case file, each with its checksum. Every
    file is checked before any is stored, so one bad file rejects them all (`field[i]`)."""
    for index, upload in enumerate(uploads):
        try:
            validate_scan(upload)
        except ValidationError as exc:
            raise ServiceValidationError({f"{field}[{index}]": exc.messages}) from None
    documents = []
    for upload in uploads:
        upload.seek(0)
        content = upload.read()
        upload.seek(0)
        document = CaseDocument(
            case=case,
            kind=kind,
            name=str(getattr(upload, "name", "") or "file")[-200:],
            content_type=sniff(upload) or "application/octet-stream",
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            generated=False,
            issued_by=actor,
        )
        document.file.save(document.name, upload, save=False)
        document.save()
        documents.append(document)
    return documents


def store_upload(case: Case, kind: str, upload: Any, actor: User | None) -> CaseDocument:
    """One uploaded scan kept in the case file (see `store_uploads`)."""
    return store_uploads(case, kind, [upload], actor, "file")[0]


# --- legal provisions ----------------------------------------------------------------------
def _require_admin(actor: User) -> None:
    if not actor.is_system_admin:
        raise PermissionDenied(_("Only a system administrator edits the legal provisions."))


@transaction.atomic
def provision_save(
    *, actor: User, data: dict[str, Any], provision: LegalProvision | None = None
) -> LegalProvision:
    """Create or change a provision. A change of legal content (law, article, violation,
    penalties, ranges) makes it unverified again: someone must check the new text."""
    _require_admin(actor)
    provision = provision or LegalProvision()
    changed_legal = provision.pk is None
    for field, value in data.items():
        if field in LegalProvision.LEGAL_FIELDS and getattr(provision, field) != value:
            changed_legal = True
        setattr(provision, field, value)
    if changed_legal:
        provision.verified = False
        provision.verified_by = None
        provision.verified_at = None
    _save(provision)
    return provision


@transaction.atomic
def provision_verify(*, actor: User, provision: LegalProvision) -> LegalProvision:
    """An administrator confirms the text and ranges against the official text."""
    _require_admin(actor)
    provision = LegalProvision.objects.select_for_update().get(pk=provision.pk)
    provision.verified = True
    provision.verified_by = actor
    provision.verified_at = timezone.now()
    _save(provision)
    return provision


# --- opening a case ------------------------------------------------------------------------
def handling_agency(enterprise: Enterprise, actor: User | None = None) -> Agency:
    """The bureau that handles a unit's case: the acting officer's own bureau, otherwise the
    county bureau of the unit's county (the city bureau when the county has none)."""
    if actor is not None and actor.is_regulator and actor.agency is not None:
        own: Agency = actor.agency
        return own
    code = enterprise.jurisdiction_id
    agency: Agency | None = (
        Agency.objects.filter(kind=Agency.Kind.COUNTY_BUREAU, jurisdiction_id=code, is_active=True)
        .order_by("id")
        .first()
    ) or (
        Agency.objects.filter(
            kind=Agency.Kind.CITY_BUREAU, jurisdiction_id=f"{code[:4]}00", is_active=True
        )
        .order_by("id")
        .first()
    )
    if agency is None:
        raise ServiceValidationError(
            {"enterprise": [_("No public-security bureau supervises this unit's county.")]}
        )
    return agency


def _check_relations(case: Case, data: dict[str, Any]) -> None:
    """Officers, persons, hazards and inspections named on a case must fit its unit."""
    code = case.enterprise.jurisdiction_id
    officers = data.get("officers")
    if officers is not None:
        for officer in officers:
            if not (officer.is_active and officer.is_regulator and covers(officer, code)):
                raise ServiceValidationError(
                    {
                        "officers": [
                            _("%(name)s is not an officer of a bureau supervising this unit.")
                            % {"name": officer.get_full_name() or officer.username}
                        ]
                    }
                )
        if len({o.pk for o in officers}) != len(officers):
            raise ServiceValidationError({"officers": [_("An officer is named twice.")]})
    for field, message in (
        ("persons", _("This person works for another unit.")),
        ("hazards", _("This hazard belongs to another unit.")),
        ("inspections", _("This inspection was of another unit.")),
    ):
        for row in data.get(field) or ():
            if row.enterprise_id != case.enterprise_id:
                raise ServiceValidationError({field: [message]})
    provisions = data.get("provisions")
    for provision in provisions or ():
        if not provision.is_active:
            raise ServiceValidationError(
                {"provisions": [_("%(provision)s is no longer in use.") % {"provision": provision}]}
            )


CASE_FIELDS = ("title", "facts", "persons_note")
CASE_RELATIONS = ("persons", "officers", "provisions", "hazards", "inspections")


def _apply(case: Case, data: dict[str, Any]) -> list[str]:
    changed = []
    for field in CASE_FIELDS:
        if field in data and getattr(case, field) != data[field]:
            setattr(case, field, data[field])
            changed.append(field)
    _save(case)
    for field in CASE_RELATIONS:
        if field in data and data[field] is not None:
            getattr(case, field).set(data[field])
            changed.append(field)
    return changed


@transaction.atomic
def case_create(*, actor: User, data: dict[str, Any]) -> Case:
    """An officer opens a case (state `proposed`, to be registered after approval)."""
    enterprise: Enterprise = data["enterprise"]
    if not (
        actor.is_system_admin or (actor.is_regulator and covers(actor, enterprise.jurisdiction_id))
    ):
        raise PermissionDenied(_("This unit is outside your jurisdiction."))
    if not str(data.get("title", "")).strip():
        raise ServiceValidationError({"title": [_("State the cause of action.")]})
    case = Case(
        enterprise=enterprise,
        agency=handling_agency(enterprise, actor),
        origin=Case.Origin.MANUAL,
        created_by=actor,
    )
    case.deadline = period(settings.CASE_PROPOSAL_PERIOD, case.proposed_on)
    _check_relations(case, data)
    _apply(case, data)
    _event(case, CaseEvent.Action.CREATED, actor)
    return case


@transaction.atomic
def case_update(*, actor: User, case: Case, data: dict[str, Any]) -> Case:
    """Change the facts, people, provisions and evidence while the case is being built
    (before the notice of intended penalty fixes them)."""
    case = _locked(case)
    _check(actor, "change", case)
    _require_status(
        case,
        EDITABLE,
        _("The case can be changed only until the intended penalty is notified."),
    )
    _check_relations(case, data)
    changed = _apply(case, data)
    if changed:
        _event(case, CaseEvent.Action.UPDATED, actor, before=case.status, data={"fields": changed})
    return case


# --- the procedure -------------------------------------------------------------------------
def _next_number(case: Case, year: int) -> str:
    """The bureau's next number; one an officer already typed (from a paper file) is skipped,
    so a typed number never blocks the sequence."""
    code = case.agency.jurisdiction_id
    while True:
        value = Counter.next_value(f"case:{code}:{year}")
        number = f"{code}-{year}-{value:04d}"
        if not Case.objects.filter(number=number).exists():
            return number


@transaction.atomic
def case_register(*, actor: User, case: Case, number: str = "", note: str = "") -> Case:
    """立案: at least two handling officers, the facts and at least one provision; the case
    gets its number (the bureau's next, or one typed from the paper file) and the decision
    deadline, and the registration approval form is issued."""
    case = _locked(case)
    _check(actor, "register", case)
    _require_step(case, "register")
    errors: dict[str, list[str]] = {}
    if case.officers.count() < 2:
        errors["officers"] = [_("A case is handled by at least two officers.")]
    if not case.facts.strip():
        errors["facts"] = [_("State the facts before registering the case.")]
    if not case.provisions.exists():
        errors["provisions"] = [_("Name at least one legal provision the case applies.")]
    number = number.strip()
    if number and Case.objects.filter(number=number).exclude(pk=case.pk).exists():
        errors["number"] = [_("Case number %(number)s is already used.") % {"number": number}]
    if errors:
        raise ServiceValidationError(errors)
    before = case.status
    case.register()
    case.number = number or _next_number(case, case.registered_on.year)  # type: ignore[union-attr]
    case.decision_due = period(settings.CASE_DECISION_PERIOD, case.registered_on)  # type: ignore[arg-type]
    case.deadline = case.decision_due
    _save(case)
    document = _issue(case, CaseDocument.Kind.REGISTRATION_APPROVAL, actor)
    _event(case, CaseEvent.Action.REGISTER, actor, before=before, note=note, document=document)
    return case


@transaction.atomic
def case_investigate(*, actor: User, case: Case, note: str = "") -> Case:
    case = _locked(case)
    _check(actor, "investigate", case)
    _require_step(case, "investigate")
    before = case.status
    case.investigate()
    _save(case)
    _event(case, CaseEvent.Action.INVESTIGATE, actor, before=before, note=note)
    return case


def _build_items(case: Case, items: Sequence[dict[str, Any]]) -> list[PenaltyItem]:
    """Penalty items checked against the case's provisions (kind allowed, fine in range) and
    its unit (person and permit are the unit's own); the first problem names its item."""
    if not items:
        raise ServiceValidationError({"items": [_("Give at least one penalty.")]})
    applied = {p.pk for p in case.provisions.all()}
    built = []
    for index, raw in enumerate(items):
        field = f"items[{index}]"
        provision: LegalProvision = raw["provision"]
        kind = raw["kind"]
        amount: Decimal | None = raw.get("amount")
        if provision.pk not in applied:
            raise ServiceValidationError(
                {f"{field}.provision": [_("Apply this provision to the case first.")]}
            )
        problem = provision.penalty_problem(kind, amount)
        if problem:
            target = "amount" if kind in FINE_KINDS and kind in provision.allowed_kinds else "kind"
            raise ServiceValidationError({f"{field}.{target}": [problem]})
        if kind not in FINE_KINDS and amount is not None:
            raise ServiceValidationError({f"{field}.amount": [_("Only a fine has an amount.")]})
        person = raw.get("person")
        if kind == PenaltyKind.PERSON_FINE and person is None:
            raise ServiceValidationError(
                {f"{field}.person": [_("Name the responsible person to be fined.")]}
            )
        if person is not None and person.enterprise_id != case.enterprise_id:
            raise ServiceValidationError(
                {f"{field}.person": [_("This person works for another unit.")]}
            )
        permit = raw.get("permit")
        if kind in PERMIT_KINDS and permit is None:
            raise ServiceValidationError(
                {f"{field}.permit": [_("Name the permit to suspend or revoke.")]}
            )
        if permit is not None and permit.enterprise_id != case.enterprise_id:
            raise ServiceValidationError(
                {f"{field}.permit": [_("This permit belongs to another unit.")]}
            )
        until = raw.get("until")
        if kind in (PenaltyKind.SUSPENSION, PenaltyKind.PERMIT_SUSPENSION):
            if until is None:
                raise ServiceValidationError(
                    {f"{field}.until": [_("Give the date the suspension ends.")]}
                )
            if until <= timezone.localdate():
                raise ServiceValidationError(
                    {f"{field}.until": [_("The suspension must end after today.")]}
                )
        built.append(
            PenaltyItem(
                case=case,
                provision=provision,
                kind=kind,
                amount=amount if kind in FINE_KINDS else None,
                person=person if kind == PenaltyKind.PERSON_FINE else None,
                permit=permit if kind in PERMIT_KINDS else None,
                until=until,
                description=raw.get("description", ""),
            )
        )
    return built


def hearing_available(items: Iterable[PenaltyItem]) -> bool:
    """Whether the penalty lets the party request a hearing: suspension or a permit penalty,
    or a fine of at least the configured amount (settings.CASE_HEARING_FINE_*)."""
    unit_total = Decimal(0)
    for item in items:
        if item.kind in HEARING_KINDS:
            return True
        if item.kind == PenaltyKind.FINE and item.amount:
            unit_total += item.amount
        if (
            item.kind == PenaltyKind.PERSON_FINE
            and item.amount
            and item.amount >= settings.CASE_HEARING_FINE_PERSON
        ):
            return True
    return unit_total >= settings.CASE_HEARING_FINE_UNIT


def _replace_items(case: Case, items: list[PenaltyItem]) -> None:
    case.penalties.all().delete()
    for item in items:
        _save(item)


@transaction.atomic
def case_notify(
    *, actor: User, case: Case, items: Sequence[dict[str, Any]], note: str = ""
) -> Case:
    """告知: the intended penalty, the right to state a defence within the defence period and,
    when the penalty is large enough, to request a hearing; the notice is issued."""
    case = _locked(case)
    _check(actor, "notify", case)
    _require_step(case, "notify")
    built = _build_items(case, items)
    before = case.status
    case.notify()
    today = case.notified_on or timezone.localdate()
    case.defence_deadline = period(settings.CASE_DEFENCE_PERIOD, today)
    case.hearing_available = hearing_available(built)
    case.hearing_deadline = (
        period(settings.CASE_HEARING_REQUEST_PERIOD, today) if case.hearing_available else None
    )
    # The bureau's own deadline stays the decision's; the party's periods are shown beside it.
    case.deadline = case.decision_due
    _save(case)
    _replace_items(case, built)
    document = _issue(case, CaseDocument.Kind.PENALTY_NOTICE, actor)
    _event(
        case,
        CaseEvent.Action.NOTIFY,
        actor,
        before=before,
        note=note,
        document=document,
        data={"hearing_available": case.hearing_available},
    )
    return case


@transaction.atomic
def case_record_defence(
    *,
    actor: User,
    case: Case,
    statement: str = "",
    hearing_requested: bool = False,
    waived: bool = False,
    files: Sequence[Any] = (),
) -> Case:
    """What the party said after the notice: a statement (陈述申辩), a hearing request within
    its period, or a written waiver of the defence period (a signed scan is required)."""
    case = _locked(case)
    _check(actor, "defence", case)
    _require_status(
        case,
        [CaseStatus.NOTIFIED],
        _("A defence is recorded after the notice of intended penalty and before the decision."),
    )
    today = timezone.localdate()
    if not (statement.strip() or hearing_requested or waived):
        raise ServiceValidationError(
            {"statement": [_("Record the statement, a hearing request or a written waiver.")]}
        )
    if waived and (statement.strip() or hearing_requested):
        raise ServiceValidationError(
            {"waived": [_("A party that waives its defence states none and asks no hearing.")]}
        )
    if waived and not files:
        raise ServiceValidationError(
            {"files": [_("A waiver must be in writing: attach the signed waiver.")]}
        )
    if hearing_requested:
        if not case.hearing_available:
            raise ServiceValidationError(
                {"hearing_requested": [_("This penalty does not allow a hearing.")]}
            )
        if case.hearing_deadline and today > case.hearing_deadline:
            raise ServiceValidationError(
                {
                    "hearing_requested": [
                        _("The hearing request period ended on %(date)s.")
                        % {"date": case.hearing_deadline.isoformat()}
                    ]
                }
            )
    if statement.strip():
        case.defence_statement = "\n\n".join(
            s for s in (case.defence_statement, statement.strip()) if s
        )
    if hearing_requested:
        case.hearing_requested = True
    if waived:
        case.defence_waived = True
    _save(case)
    kind = CaseDocument.Kind.DEFENCE_WAIVER if waived else CaseDocument.Kind.DEFENCE
    documents = store_uploads(case, kind, files, actor)
    _event(
        case,
        CaseEvent.Action.DEFENCE,
        actor,
        before=case.status,
        note=statement,
        document=documents[0] if documents else None,
        data={"hearing_requested": hearing_requested, "waived": waived},
    )
    return case


@transaction.atomic
def case_record_hearing(
    *, actor: User, case: Case, held_on: date, record: str, files: Sequence[Any] = ()
) -> Case:
    case = _locked(case)
    _check(actor, "defence", case)
    _require_status(case, [CaseStatus.NOTIFIED], _("A hearing is held before the decision."))
    if not case.hearing_requested:
        raise ServiceValidationError({"held_on": [_("The party did not request a hearing.")]})
    if held_on > timezone.localdate():
        raise ServiceValidationError({"held_on": [_("The date cannot be in the future.")]})
    if case.notified_on and held_on < case.notified_on:
        raise ServiceValidationError(
            {"held_on": [_("A hearing cannot be held before the notice.")]}
        )
    if not record.strip():
        raise ServiceValidationError({"record": [_("Summarise what the hearing established.")]})
    case.hearing_held_on = held_on
    case.hearing_record = record
    _save(case)
    documents = store_uploads(case, CaseDocument.Kind.HEARING_RECORD, files, actor)
    _event(
        case,
        CaseEvent.Action.HEARING,
        actor,
        before=case.status,
        note=record,
        document=documents[0] if documents else None,
        data={"held_on": held_on.isoformat()},
    )
    return case


def _not_heavier(case: Case, new: list[PenaltyItem]) -> None:
    """The decision may lighten the notified penalty, never make it heavier (Administrative
    Penalty Law Art. 45): no new kinds, no larger fine of any kind."""
    notified: dict[str, Decimal] = {}
    targets: dict[str, set[tuple[int | None, int | None]]] = {}
    until: dict[str, Any] = {}
    for item in case.penalties.all():
        notified[item.kind] = notified.get(item.kind, Decimal(0)) + (item.amount or 0)
        targets.setdefault(item.kind, set()).add((item.person_id, item.permit_id))
        if item.until is not None:
            until[item.kind] = max(until.get(item.kind, item.until), item.until)
    decided: dict[str, Decimal] = {}
    for index, item in enumerate(new):
        if item.kind not in notified:
            raise ServiceValidationError(
                {
                    f"items[{index}].kind": [
                        _("The decision cannot add a penalty that was not notified.")
                    ]
                }
            )
        if (item.person_id, item.permit_id) not in targets[item.kind]:
            raise ServiceValidationError(
                {
                    f"items[{index}]": [
                        _(
                            "The decision can only penalise the persons and permits named in "
                            "the notice."
                        )
                    ]
                }
            )
        if item.until is not None and item.kind in until and item.until > until[item.kind]:
            raise ServiceValidationError(
                {
                    f"items[{index}].until": [
                        _("The decision cannot make a suspension last longer than notified.")
                    ]
                }
            )
        decided[item.kind] = decided.get(item.kind, Decimal(0)) + (item.amount or 0)
    for kind, total in decided.items():
        if total > notified[kind]:
            raise ServiceValidationError(
                {
                    "items": [
                        _(
                            "The decided %(kind)s (%(total)s yuan) exceeds the notified "
                            "%(notified)s yuan."
                        )
                        % {
                            "kind": PenaltyKind(kind).label,
                            "total": f"{total:,.2f}",
                            "notified": f"{notified[kind]:,.2f}",
                        }
                    ]
                }
            )


def _apply_to_registry(case: Case, items: Iterable[PenaltyItem]) -> list[dict[str, Any]]:
    """A decided suspension or revocation changes the permit and the unit at once (same
    transaction as the decision). Returns what changed, for the timeline."""
    changes: list[dict[str, Any]] = []
    enterprise = Enterprise.objects.select_for_update().get(pk=case.enterprise_id)
    unit_status = enterprise.status
    for item in items:
        if item.kind == PenaltyKind.PERMIT_REVOCATION and item.permit is not None:
            permit = Permit.objects.select_for_update().get(pk=item.permit_id)
            permit.status = Permit.Status.REVOKED
            permit.suspended_until = None
            _save(permit)
            changes.append({"permit": permit.pk, "status": permit.status})
        elif item.kind == PenaltyKind.PERMIT_SUSPENSION and item.permit is not None:
            permit = Permit.objects.select_for_update().get(pk=item.permit_id)
            permit.status = Permit.Status.SUSPENDED
            permit.suspended_until = item.until
            _save(permit)
            changes.append({"permit": permit.pk, "status": permit.status})
            unit_status = Enterprise.Status.SUSPENDED
        elif item.kind == PenaltyKind.SUSPENSION:
            unit_status = Enterprise.Status.SUSPENDED
    revoked = any(i.kind == PenaltyKind.PERMIT_REVOCATION for i in items)
    # Revoked outright only when no permit is left (a suspended one comes back).
    remaining = Permit.objects.filter(enterprise=enterprise).exclude(status=Permit.Status.REVOKED)
    if revoked and not remaining.exists():
        unit_status = Enterprise.Status.REVOKED
    if unit_status != enterprise.status and enterprise.status != Enterprise.Status.REVOKED:
        changes.append({"unit": enterprise.pk, "from": enterprise.status, "to": unit_status})
        enterprise.status = unit_status
        _save(enterprise)
    return changes


def decision_wait(case: Case, today: date | None = None) -> str | None:
    """Why a notified case cannot be decided yet (the party's defence or hearing periods, or a
    requested hearing not held), in words; None when it can. Pages offer the step by it."""
    today = today or timezone.localdate()
    if not case.defence_waived and case.defence_deadline and today <= case.defence_deadline:
        return _(
            "The defence period runs until %(date)s: decide after it, or record the party's "
            "written waiver."
        ) % {"date": case.defence_deadline.isoformat()}
    if (
        case.hearing_available
        and not case.defence_waived
        and not case.hearing_requested
        and case.hearing_deadline
        and today <= case.hearing_deadline
    ):
        return _("The party may still request a hearing until %(date)s.") % {
            "date": case.hearing_deadline.isoformat()
        }
    if case.hearing_requested and case.hearing_held_on is None:
        return _("The party requested a hearing: record the hearing before the decision.")
    return None


@transaction.atomic
def case_decide(
    *,
    actor: User,
    case: Case,
    items: Sequence[dict[str, Any]] | None = None,
    note: str = "",
) -> Case:
    """决定: after the defence period (or a written waiver) and any requested hearing; the
    penalty may be the notified one or lighter. Permit and unit status change in the registry
    and the decision is issued."""
    case = _locked(case)
    _check(actor, "decide", case)
    _require_step(case, "decide")
    today = timezone.localdate()
    waiting = decision_wait(case, today)
    if waiting:
        raise DomainError(waiting, current_status=case.status, allowed=allowed_actions(case))
    if items is not None:
        built = _build_items(case, items)
        _not_heavier(case, built)
        _replace_items(case, built)
    decided = list(case.penalties.select_related("permit").all())
    before = case.status
    case.decide()
    has_fine = any(i.is_fine for i in decided)
    case.payment_due = period(settings.CASE_PAYMENT_PERIOD, today) if has_fine else None
    case.deadline = case.payment_due
    _save(case)
    changes = _apply_to_registry(case, decided)
    document = _issue(case, CaseDocument.Kind.PENALTY_DECISION, actor)
    _event(
        case,
        CaseEvent.Action.DECIDE,
        actor,
        before=before,
        note=note,
        document=document,
        data={"registry": changes} if changes else {},
    )
    return case


@transaction.atomic
def case_record_payment(
    *,
    actor: User,
    case: Case,
    item: PenaltyItem,
    paid_on: date,
    receipt_number: str,
    files: Sequence[Any] = (),
) -> PenaltyItem:
    case = _locked(case)
    _check(actor, "pay", case)
    _require_status(case, [CaseStatus.DECIDED], _("Payments are recorded after the decision."))
    item = PenaltyItem.objects.select_for_update().get(pk=item.pk)
    if item.case_id != case.pk:
        raise ServiceValidationError({"item": [_("This penalty belongs to another case.")]})
    if not item.is_fine:
        raise ServiceValidationError({"item": [_("Only a fine is paid.")]})
    if item.paid_on is not None:
        raise DomainError(
            _("This fine was already paid on %(date)s.") % {"date": item.paid_on.isoformat()},
            current_status=case.status,
            allowed=allowed_actions(case),
        )
    if paid_on > timezone.localdate():
        raise ServiceValidationError({"paid_on": [_("The date cannot be in the future.")]})
    if case.decided_on and paid_on < case.decided_on:
        raise ServiceValidationError({"paid_on": [_("A fine cannot be paid before the decision.")]})
    if not receipt_number.strip():
        raise ServiceValidationError({"receipt_number": [_("Give the receipt number.")]})
    item.paid_on = paid_on
    item.receipt_number = receipt_number.strip()
    item.executed_on = paid_on
    _save(item)
    documents = store_uploads(case, CaseDocument.Kind.PAYMENT_RECEIPT, files, actor)
    _event(
        case,
        CaseEvent.Action.PAY,
        actor,
        before=case.status,
        document=documents[0] if documents else None,
        data={
            "item": item.pk,
            "amount": str(item.amount),
            "paid_on": paid_on.isoformat(),
            "receipt_number": item.receipt_number,
        },
    )
    return item


@transaction.atomic
def case_execute(*, actor: User, case: Case, note: str = "") -> Case:
    """Execution is complete when every fine is paid; the other penalties take effect with the
    decision and are marked executed today."""
    case = _locked(case)
    _check(actor, "execute", case)
    _require_step(case, "execute")
    items = list(case.penalties.all())
    unpaid = [i for i in items if i.is_fine and i.paid_on is None]
    if unpaid:
        raise DomainError(
            _("%(count)d fine(s) are not paid yet: record the payments first.")
            % {"count": len(unpaid)},
            current_status=case.status,
            allowed=allowed_actions(case),
        )
    before = case.status
    case.execute()
    case.deadline = None
    _save(case)
    for item in items:
        if item.executed_on is None:
            item.executed_on = case.executed_on
            _save(item)
    _event(case, CaseEvent.Action.EXECUTE, actor, before=before, note=note)
    return case


@transaction.atomic
def case_close(*, actor: User, case: Case, note: str = "") -> Case:
    """结案: the file is complete; its cover with the index of documents is issued."""
    case = _locked(case)
    _check(actor, "close", case)
    _require_step(case, "close")
    before = case.status
    case.close()
    case.deadline = None
    _save(case)
    document = _issue(case, CaseDocument.Kind.FILE_COVER, actor)
    _event(case, CaseEvent.Action.CLOSE, actor, before=before, note=note, document=document)
    return case


@transaction.atomic
def case_drop(*, actor: User, case: Case, reason: str) -> Case:
    """Dismiss a proposal or drop a case before the decision, with the reason."""
    case = _locked(case)
    _check(actor, "drop", case)
    _require_step(case, "drop")
    if not reason.strip():
        raise ServiceValidationError({"reason": [_("Give the reason for dropping the case.")]})
    before = case.status
    case.drop()
    case.drop_reason = reason
    case.deadline = None
    _save(case)
    _event(case, CaseEvent.Action.DROP, actor, before=before, note=reason)
    return case


@transaction.atomic
def case_attach(
    *, actor: User, case: Case, files: Sequence[Any], kind: str = CaseDocument.Kind.EVIDENCE
) -> list[CaseDocument]:
    """Add evidence (or another uploaded document) to an open case."""
    case = _locked(case)
    _check(actor, "attach", case)
    if not case.is_open:
        raise DomainError(
            _("A closed or dropped case takes no more files."),
            current_status=case.status,
            allowed=allowed_actions(case),
        )
    if kind in CaseDocument.GENERATED or kind not in CaseDocument.Kind.values:
        raise ServiceValidationError({"kind": [_("This kind of document cannot be uploaded.")]})
    if not files:
        raise ServiceValidationError({"files": [_("Choose at least one file.")]})
    documents = store_uploads(case, kind, files, actor)
    for document in documents:
        _event(case, CaseEvent.Action.ATTACH, actor, before=case.status, document=document)
    return documents


@transaction.atomic
def case_review(*, actor: User, case: Case, data: dict[str, Any]) -> CaseReview:
    """精品案件评查: a city officer who did not handle the case scores a closed case, once."""
    case = _locked(case)
    _check(actor, "review", case)
    _require_status(case, [CaseStatus.CLOSED], _("Only a closed case is reviewed."))
    if CaseReview.objects.filter(case=case).exists():
        raise DomainError(
            _("This case has already been reviewed."),
            current_status=case.status,
            allowed=[],
        )
    review = CaseReview(case=case, reviewer=actor, **data)
    _save(review)
    _event(
        case,
        CaseEvent.Action.REVIEW,
        actor,
        before=case.status,
        note=review.comments,
        data={"score": review.score, "grade": review.grade},
    )
    return review


def lift_expired_suspensions(today: date | None = None) -> dict[str, int]:
    """Daily: a suspension whose end date has passed is over. Suspended permits whose
    `suspended_until` is before today are in force again; a suspended unit is active again
    when no permit of it is still suspended and no decided suspension of production or
    business runs on. Revocations are final and never lifted. Each unit in one transaction."""
    today = today or timezone.localdate()
    ended = Permit.objects.filter(status=Permit.Status.SUSPENDED, suspended_until__lt=today)
    units = set(ended.values_list("enterprise_id", flat=True)) | set(
        PenaltyItem.objects.filter(
            kind=PenaltyKind.SUSPENSION,
            until__lt=today,
            case__enterprise__status=Enterprise.Status.SUSPENDED,
            case__status__in=[CaseStatus.DECIDED, CaseStatus.EXECUTED, CaseStatus.CLOSED],
        ).values_list("case__enterprise_id", flat=True)
    )
    result = {"permits": 0, "units": 0}
    for unit_id in sorted(units):
        with transaction.atomic():
            for permit in ended.filter(enterprise_id=unit_id).select_for_update():
                permit.status = Permit.Status.ACTIVE
                permit.suspended_until = None
                _save(permit)
                result["permits"] += 1
            unit = Enterprise.objects.select_for_update().get(pk=unit_id)
            still_suspended = (
                Permit.objects.filter(
                    enterprise_id=unit_id, status=Permit.Status.SUSPENDED
                ).exists()
                or PenaltyItem.objects.filter(
                    case__enterprise_id=unit_id,
                    case__status__in=[CaseStatus.DECIDED, CaseStatus.EXECUTED, CaseStatus.CLOSED],
                    kind__in=[PenaltyKind.SUSPENSION, PenaltyKind.PERMIT_SUSPENSION],
                    until__gte=today,
                ).exists()
            )
            if unit.status == Enterprise.Status.SUSPENDED and not still_suspended:
                unit.status = Enterprise.Status.ACTIVE
                _save(unit)
                result["units"] += 1
    return result


__all__ = [
    "ACTIONS",
    "BEFORE_DECISION",
    "allowed_actions",
    "case_attach",
    "case_close",
    "case_create",
    "case_decide",
    "case_drop",
    "case_execute",
    "case_investigate",
    "case_notify",
    "case_record_defence",
    "case_record_hearing",
    "case_record_payment",
    "case_register",
    "case_review",
    "case_update",
    "decision_wait",
    "denial_reason",
    "handling_agency",
    "hearing_available",
    "lift_expired_suspensions",
    "period",
    "provision_save",
    "provision_verify",
    "store_upload",
    "store_uploads",
]
