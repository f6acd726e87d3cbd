"""Demo: the seven repeat-offender units of the post-holiday campaign (节后复工复产), penalised
for leaving the campaign's hazards unremoved ("7 units that repeatedly refused to correct were
given administrative penalties").

The seven are the units with the most facts for the escalation rules (the daily job's own scan),
then, if fewer than seven qualify, the units with the most overdue hazards (Zhuhui's first, so
the `zhuhui` persona handles one), whose cases officers open by hand. Their cases stand at every
stage: two closed with their fines paid, one decided with a permit suspension (the registry
shows the permit and the unit suspended), one notified, one under investigation, one
registered, and one just proposed by the escalation job today.

Every step goes through the real services (and the escalation job), handled by the two officers
of the unit's county bureau. Services date a step "today"; to give the cases a believable past,
each step runs on its own past day with the date services read (`timezone.localdate()`) turned
back, so the documents issued at that step print the same dates as the case. Timestamps keep
the real time (the audit trail says when the demo was loaded); the timeline events and document
times are then set back with queryset updates that are demo-only. A second run creates nothing.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone, translation

from weibao.accounts.models import Role, User
from weibao.core.context import acting_as
from weibao.core.models import Notification
from weibao.enforcement import services
from weibao.enforcement.escalation import facts_by_unit, run_escalation
from weibao.enforcement.models import (
    Case,
    CaseDocument,
    CaseEvent,
    CaseStatus,
    LegalProvision,
    PenaltyKind,
)
from weibao.enforcement.notifications import case_url
from weibao.hazards.models import Hazard, overdue_q
from weibao.inspections.demo import CAMPAIGN_NAME
from weibao.inspections.models import Campaign
from weibao.registry.models import Enterprise, Permit, Person

UNITS = 7
PERSONA_COUNTY = "430405"  # Zhuhui: the `zhuhui` demo persona's county
MANUAL_TITLE = "未采取措施消除事故隐患"
# Units handling explosives in store: their storage provision allows a permit suspension.
STORAGE_KINDS = ("explosives_storage", "explosives_production", "explosives_sale")


@dataclass(frozen=True)
class Plan:
    """Days before today on which each step is taken (None: the case stops before it)."""

    stage: str
    propose: int
    register: int | None = None
    investigate: int | None = None
    notify: int | None = None
    defence: int | None = None  # a statement (or the written waiver, see `waive`)
    waive: bool = False
    hearing: tuple[int, int] | None = None  # (requested, held)
    decide: int | None = None
    pay: int | None = None
    execute: int | None = None
    close: int | None = None
    fine: str = "30000"
    decided_fine: str | None = None  # lighter than notified, after the defence
    suspension: bool = False


PLANS = {
    "closed_a": Plan(
        "closed", 150, 147, 145, 130, 129, True, None, 128, 120, 119, 115, fine="30000"
    ),
    "closed_b": Plan(
        "closed", 120, 118, 116, 100, 98, False, None, 90, 80, 79, 75, "20000", "15000"
    ),
    "decided": Plan(
        "decided", 60, 57, 54, 25, hearing=(23, 18), decide=12, fine="50000", suspension=True
    ),
    "notified": Plan("notified", 35, 32, 30, 3, fine="40000"),
    "investigating": Plan("investigating", 25, 22, 20),
    "registered": Plan("registered", 14, 9),
    "proposed": Plan("proposed", 0),
}


# --- the demo's clock ----------------------------------------------------------------------
@contextlib.contextmanager
def _on(day: date) -> Iterator[None]:
    """Services read "today" from `timezone.localdate()`; for one demo step it is `day`.
    Calls that convert a given moment (with an argument) are left alone."""
    real = timezone.localdate

    def localdate(value: datetime | None = None, timezone: Any = None) -> date:
        return day if value is None else real(value, timezone)

    timezone.localdate = localdate
    try:
        yield
    finally:
        timezone.localdate = real


@contextlib.contextmanager
def _quiet(*names: str) -> Iterator[None]:
    """No progress lines from the PDF layout and the job in the demo command's output."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _moment(day: date, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


class _Steps:
    """Runs a case's steps, each on its day, and sets its timeline back to that day."""

    def __init__(self, case: Case, today: date) -> None:
        self.case = case
        self.today = today
        self.hour = 9

    def day(self, days_before: int) -> date:
        return self.today - timedelta(days=days_before)

    def run(self, days_before: int, step: Callable[[], Any]) -> Any:
        day = self.day(days_before)
        last_event = CaseEvent.objects.filter(case=self.case).order_by("-pk").first()
        last_document = CaseDocument.objects.filter(case=self.case).order_by("-pk").first()
        with _on(day):
            result = step()
        self.hour = 9 if self.hour >= 16 else self.hour + 1
        at = _moment(day, self.hour)
        CaseEvent.objects.filter(case=self.case, pk__gt=last_event.pk if last_event else 0).update(
            at=at
        )
        CaseDocument.objects.filter(
            case=self.case, pk__gt=last_document.pk if last_document else 0
        ).update(issued_at=at)
        self.case.refresh_from_db()
        return result


# --- choosing the seven --------------------------------------------------------------------
def _officers(unit: Enterprise) -> list[User]:
    agency = services.handling_agency(unit)
    return list(
        User.objects.filter(agency=agency, role=Role.COUNTY_REGULATOR, is_active=True).order_by(
            "pk"
        )[:2]
    )


def _choose(today: date) -> tuple[list[Enterprise], set[int]]:
    """The seven units, worst first, and which of them the escalation rules propose (or the
    daily job already proposed, when it ran before the demo was loaded)."""
    weight = {pk: len(facts) for pk, facts in facts_by_unit(today).items()}
    proposed = Case.objects.filter(status=CaseStatus.PROPOSED, origin=Case.Origin.ESCALATION)
    for unit_id, evidence in proposed.values_list("enterprise_id", "evidence"):
        weight[unit_id] = weight.get(unit_id, 0) + len(evidence)
    escalated = sorted(weight, key=lambda pk: (-weight[pk], pk))
    overdue = (
        Enterprise.objects.annotate(late=Count("hazards", filter=overdue_q(today, "hazards__")))
        .filter(late__gt=0)
        .exclude(pk__in=escalated)
        .order_by("-late", "pk")
    )
    manual = sorted(overdue, key=lambda u: (u.jurisdiction_id != PERSONA_COUNTY, -u.late))
    units = Enterprise.objects.in_bulk([*escalated, *(u.pk for u in manual)])
    chosen = [
        units[pk] for pk in [*escalated, *(u.pk for u in manual)] if len(_officers(units[pk])) >= 2
    ]
    return chosen[:UNITS], set(escalated)


def _storage_permit(unit: Enterprise, today: date) -> Permit | None:
    if not any(kind in unit.kind_list for kind in STORAGE_KINDS):
        return None
    permit: Permit | None = (
        unit.permits.filter(status=Permit.Status.ACTIVE, expires_on__gt=today)
        .order_by("pk")
        .first()
    )
    return permit


def _stages(units: list[Enterprise], escalated: set[int], today: date) -> list[str]:
    """Which plan each unit follows: the proposal is the escalation job's (its last unit), the
    permit suspension falls on a unit with explosives in store."""
    names: list[str | None] = [None] * len(units)
    last_escalated = max((i for i, u in enumerate(units) if u.pk in escalated), default=None)
    if last_escalated is not None:
        names[last_escalated] = "proposed"
    storage = [
        i for i, u in enumerate(units) if names[i] is None and _storage_permit(u, today) is not None
    ]
    if storage:
        names[storage[0]] = "decided"
    rest = [p for p in PLANS if p not in names]
    for i in range(len(units)):
        if names[i] is None:
            names[i] = rest.pop(0)
    return [n for n in names if n is not None]


# --- building a case -----------------------------------------------------------------------
def _waiver_pdf(unit: Enterprise) -> SimpleUploadedFile:
    """A small, valid one-page PDF standing for the signed scan of the written waiver."""
    text = b"Written waiver of the defence period (demo scan)"
    stream = b"BT /F1 14 Tf 72 720 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return SimpleUploadedFile(f"放弃陈述申辩书-{unit.pk}.pdf", bytes(out), "application/pdf")


def _facts_text(unit: Enterprise, hazards: list[Hazard]) -> str:
    lines = []
    for h in hazards:
        extended = f"，经延期{h.extension_count}次" if h.extension_count else ""
        lines.append(
            f"{h.reference}（{h.description}，整改期限{h.deadline:%Y年%m月%d日}{extended}）"
        )
    return (
        f"经查，{unit.name}在{CAMPAIGN_NAME}中被检查发现事故隐患，经依法责令限期整改，"
        f"逾期仍未整改到位：{'；'.join(lines)}。"
        "上述事实有现场检查记录、隐患整改通知书、复查记录及现场照片等证据证实。"
    )


def _details(unit: Enterprise, case: Case, permit: Permit | None) -> dict[str, Any]:
    hazards = list(case.hazards.order_by("deadline", "pk")) or list(
        unit.hazards.filter(overdue_q(timezone.localdate())).order_by("deadline", "pk")
    )
    provisions = [LegalProvision.objects.get(code="wsl-2021-102")]
    if permit is not None:
        provisions.append(LegalProvision.objects.get(code="cer-49-storage"))
    inspections = {h.inspection for h in hazards if h.inspection is not None}
    return {
        "facts": _facts_text(unit, hazards),
        "hazards": hazards,
        "inspections": sorted(inspections, key=lambda i: i.pk),
        "persons": list(
            unit.people.filter(post=Person.Post.PRINCIPAL, is_active=True).order_by("pk")[:1]
        ),
        "provisions": provisions,
    }


def _items(plan: Plan, amount: str, permit: Permit | None, today: date) -> list[dict[str, Any]]:
    if permit is not None:
        storage = LegalProvision.objects.get(code="cer-49-storage")
        return [
            {"provision": storage, "kind": PenaltyKind.FINE, "amount": Decimal(amount)},
            {
                "provision": storage,
                "kind": PenaltyKind.PERMIT_SUSPENSION,
                "permit": permit,
                "until": today + timedelta(days=90),
                "description": "暂扣许可证，停业整顿至隐患全部消除并经验收合格",
            },
        ]
    basis = LegalProvision.objects.get(code="wsl-2021-102")
    return [{"provision": basis, "kind": PenaltyKind.FINE, "amount": Decimal(amount)}]


def _open(unit: Enterprise, plan: Plan, escalated: bool, officers: list[User], today: date) -> Case:
    """The proposal: the escalation job's (run for this unit on the day), or an officer's."""
    day = today - timedelta(days=plan.propose)
    if escalated:
        run_escalation(day, units=[unit.pk])
        case: Case | None = (
            Case.objects.filter(
                enterprise=unit, status=CaseStatus.PROPOSED, origin=Case.Origin.ESCALATION
            )
            .order_by("-pk")
            .first()
        )
        if case is not None:
            moment = _moment(day, 7)
            Case.objects.filter(pk=case.pk).update(proposed_on=day)
            CaseEvent.objects.filter(case=case).update(at=moment)
            if plan.propose:  # read long ago by the bureau
                Notification.objects.filter(url=case_url(case.pk)).update(
                    created_at=moment, read_at=moment
                )
            return case
    with _on(day):
        case = services.case_create(
            actor=officers[0], data={"enterprise": unit, "title": MANUAL_TITLE}
        )
    Case.objects.filter(pk=case.pk).update(proposed_on=day)
    CaseEvent.objects.filter(case=case).update(at=_moment(day, 9))
    case.refresh_from_db()
    return case


def _build(unit: Enterprise, plan: Plan, escalated: bool, today: date) -> Case:
    officers = _officers(unit)
    actor = officers[0]
    permit = _storage_permit(unit, today) if plan.suspension else None
    case = _open(unit, plan, escalated, officers, today)
    steps = _Steps(case, today)
    if plan.register is None:
        return case
    data = {**_details(unit, case, permit), "officers": officers}
    steps.run(plan.register, lambda: services.case_update(actor=actor, case=case, data=data))
    steps.run(plan.register, lambda: services.case_register(actor=actor, case=case))
    if plan.investigate is not None:
        steps.run(plan.investigate, lambda: services.case_investigate(actor=actor, case=case))
    if plan.notify is None:
        return steps.case
    decide_day = steps.day(plan.decide) if plan.decide is not None else today
    items = _items(plan, plan.fine, permit, decide_day)
    steps.run(plan.notify, lambda: services.case_notify(actor=actor, case=case, items=items))
    if plan.defence is not None:
        if plan.waive:
            waiver = _waiver_pdf(unit)
            steps.run(
                plan.defence,
                lambda: services.case_record_defence(
                    actor=actor, case=case, waived=True, files=[waiver]
                ),
            )
        else:
            statement = "当事人书面陈述：已投入资金整改，部分隐患已消除，请求从轻处罚。"
            steps.run(
                plan.defence,
                lambda: services.case_record_defence(actor=actor, case=case, statement=statement),
            )
    if plan.hearing is not None:
        requested, held = plan.hearing
        steps.run(
            requested,
            lambda: services.case_record_defence(actor=actor, case=case, hearing_requested=True),
        )
        record = (
            "听证会认定：该单位库房隐患逾期未整改事实清楚，当事人对事实无异议，请求宽限整改期限。"
        )
        steps.run(
            held,
            lambda: services.case_record_hearing(
                actor=actor, case=case, held_on=steps.day(held), record=record
            ),
        )
    if plan.decide is None:
        return steps.case
    lighter = _items(plan, plan.decided_fine, permit, decide_day) if plan.decided_fine else None
    steps.run(plan.decide, lambda: services.case_decide(actor=actor, case=case, items=lighter))
    if plan.pay is None:
        return steps.case
    for n, item in enumerate(case.penalties.filter(kind=PenaltyKind.FINE).order_by("pk")):
        paid_on = steps.day(plan.pay)
        receipt = f"FS{paid_on:%Y%m%d}{unit.pk:04d}{n}"
        pay = partial(
            services.case_record_payment,
            actor=actor,
            case=case,
            item=item,
            paid_on=paid_on,
            receipt_number=receipt,
        )
        steps.run(plan.pay, pay)
    if plan.execute is not None:
        steps.run(plan.execute, lambda: services.case_execute(actor=actor, case=case))
    if plan.close is not None:
        steps.run(plan.close, lambda: services.case_close(actor=actor, case=case))
    return steps.case


def _already_loaded() -> bool:
    """Anything but the escalation job's proposals means the demo (or people) worked on cases."""
    return Case.objects.exclude(
        Q(status=CaseStatus.PROPOSED) & Q(origin=Case.Origin.ESCALATION)
    ).exists()


def load_enforcement_demo() -> dict[str, int]:
    if _already_loaded() or not Campaign.objects.filter(name=CAMPAIGN_NAME).exists():
        return {"cases": 0}
    today = timezone.localdate()
    created = 0
    # Documents are issued in the bureau's language, whatever the command runs in.
    with (
        acting_as(label="command:demo"),
        translation.override(settings.LANGUAGE_CODE),
        _quiet("weasyprint", "weibao.enforcement.escalation"),
        transaction.atomic(),
    ):
        units, escalated = _choose(today)
        for unit, stage in zip(units, _stages(units, escalated, today), strict=True):
            _build(unit, PLANS[stage], unit.pk in escalated, today)
            created += 1
    return {"cases": created}
