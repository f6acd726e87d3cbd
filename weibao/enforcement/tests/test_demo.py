"""The enforcement demo: seven repeat-offender units with cases at every stage, loaded through
the real services; loading it again adds nothing."""

from __future__ import annotations

from collections import Counter
from io import StringIO
from typing import Any
from unittest import mock

import pytest
from django.core.management import call_command
from django.utils import timezone

from weibao.core.models import AuditEntry, Notification
from weibao.enforcement.escalation import run_escalation
from weibao.enforcement.models import Case, CaseDocument, CaseEvent, EscalationFact, PenaltyItem
from weibao.registry.models import Enterprise, Permit

pytestmark = pytest.mark.django_db

# The order of a case's steps on its timeline (a step's events come after the one before).
ORDER = [
    "proposed",
    "created",
    "updated",
    "register",
    "investigate",
    "notify",
    "defence",
    "hearing",
    "decide",
    "pay",
    "execute",
    "close",
]


def counts() -> dict[str, int]:
    models: Any = (Case, CaseEvent, CaseDocument, PenaltyItem, EscalationFact, Notification)
    return {m.__name__: m.objects.count() for m in (*models, AuditEntry)}


def fake_pdf(template: str, context: Any) -> bytes:
    # Laying out fifteen PDFs takes seconds; the documents have tests of their own.
    return b"%PDF-1.4\n% " + template.encode() + b"\n%%EOF\n"


def demo() -> str:
    out = StringIO()
    with mock.patch("weibao.enforcement.documents.render_pdf", fake_pdf):
        call_command("demo", "--force", stdout=out)
    return out.getvalue()


def test_seven_units_with_cases_at_every_stage_and_a_second_load_adds_nothing() -> None:
    real_localdate = timezone.localdate
    output = demo()
    today = timezone.localdate()
    assert timezone.localdate is real_localdate  # the demo's clock is put back
    assert "7 cases" in output

    cases = list(Case.objects.select_related("enterprise", "agency").order_by("proposed_on"))
    assert len({c.enterprise_id for c in cases}) == len(cases) == 7
    assert Counter(c.status for c in cases) == {
        "closed": 2,
        "decided": 1,
        "notified": 1,
        "investigating": 1,
        "registered": 1,
        "proposed": 1,
    }
    for case in cases:
        officers = list(case.officers.all())
        assert case.agency.jurisdiction_id == case.enterprise.jurisdiction_id
        assert case.proposed_on <= today and case.hazards.exists()
        if case.status == "proposed":
            # Today's proposal comes from the escalation job, with its evidence.
            assert case.origin == Case.Origin.ESCALATION and case.proposed_on == today
            assert case.evidence and case.facts_used.count() == len(case.evidence)
            continue
        assert len(officers) == 2
        assert all(o.agency_id == case.agency_id for o in officers)
        assert case.number and case.facts and case.provisions.exists()
        assert case.documents.filter(kind="registration_approval", generated=True).exists()
        # Dates follow the procedure, and each document carries its step's day.
        steps = [case.proposed_on, case.registered_on, case.notified_on, case.decided_on]
        steps += [case.executed_on, case.closed_on]
        known = [d for d in steps if d is not None]
        assert known == sorted(known) and known[-1] <= today
        for document in case.documents.filter(generated=True):
            day = timezone.localdate(document.issued_at)
            expected = {
                "registration_approval": case.registered_on,
                "penalty_notice": case.notified_on,
                "penalty_decision": case.decided_on,
                "file_cover": case.closed_on,
            }[document.kind]
            assert day == expected, document.kind
        actions = [e.action for e in case.events.order_by("at", "pk")]
        positions = [ORDER.index(a) for a in actions]
        assert positions == sorted(positions), actions

    closed = [c for c in cases if c.status == "closed"]
    for case in closed:
        fines = list(case.penalties.filter(kind="fine"))
        assert fines and all(f.paid_on and f.receipt_number for f in fines)
        assert all(case.decided_on <= f.paid_on <= case.executed_on for f in fines)
        assert case.documents.filter(kind="file_cover").exists()
    assert any(c.events.filter(action="defence", data__waived=True).exists() for c in closed)

    (decided,) = [c for c in cases if c.status == "decided"]
    suspension = decided.penalties.get(kind="permit_suspension")
    permit = Permit.objects.get(pk=suspension.permit_id)
    assert permit.status == Permit.Status.SUSPENDED and permit.suspended_until == suspension.until
    assert Enterprise.objects.get(pk=decided.enterprise_id).status == "suspended"
    assert decided.hearing_held_on is not None and decided.payment_due >= today
    (notified,) = [c for c in cases if c.status == "notified"]
    assert notified.defence_deadline and notified.defence_deadline >= today

    # The seven units' facts are used: the daily job proposes nothing more for them.
    run_escalation(today)
    assert Case.objects.filter(enterprise_id__in=[c.enterprise_id for c in cases]).count() == 7

    before = counts()
    again = demo()
    assert "0 cases" in again
    assert counts() == before
