"""The escalation rules on hand-made histories: each rule fires on the smallest history that
should fire it and stays quiet on the near miss; facts are never proposed twice."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from weibao.accounts.models import User
from weibao.core import scheduling
from weibao.core.models import Notification
from weibao.enforcement import escalation, services
from weibao.enforcement.escalation import TITLE, run_escalation
from weibao.enforcement.models import Case, CaseEvent, EscalationFact, LegalProvision
from weibao.hazards.models import Hazard
from weibao.registry.models import Enterprise
from weibao.tests.factories import CaseFactory, EnterpriseFactory, HazardFactory, World

pytestmark = pytest.mark.django_db

TODAY = date(2025, 6, 16)
MAJOR = "major_overdue"
EXTENDED = "extended_overdue"
REPEATED = "repeated_overdue"


def hazard(unit: Enterprise, days: int, **kwargs: Any) -> Hazard:
    """A hazard of `unit` whose deadline is `days` from TODAY (negative: already passed)."""
    kwargs.setdefault("found_on", TODAY + timedelta(days=days - 30))
    return HazardFactory.create(enterprise=unit, deadline=TODAY + timedelta(days=days), **kwargs)


def late_closed(unit: Enterprise, days_ago: int, late_by: int = 5) -> Hazard:
    """A hazard handed in `late_by` days after a deadline `days_ago` days before TODAY, reported
    overdue by the follow-up job, then accepted."""
    deadline = TODAY - timedelta(days=days_ago)
    return HazardFactory.create(
        enterprise=unit,
        found_on=deadline - timedelta(days=20),
        deadline=deadline,
        status=Hazard.Status.CLOSED,
        overdue_since=deadline + timedelta(days=1),
        rectified_on=deadline + timedelta(days=late_by),
        accepted_on=deadline + timedelta(days=late_by + 1),
    )


def proposals(unit: Enterprise) -> list[Case]:
    return list(Case.objects.filter(enterprise=unit).order_by("pk"))


def facts_of(case: Case) -> set[tuple[str, int]]:
    return {(e["rule"], e["hazard_id"]) for e in case.evidence}


def received(user: User, verb: str) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, verb=verb).order_by("pk"))


# --- rule (a): a major hazard left overdue -------------------------------------------------
def test_major_overdue_proposes_a_case_to_the_county(world: World) -> None:
    late = hazard(world.unit_a, -1, level="major", overdue_since=TODAY)

    result = run_escalation(TODAY)

    assert (result.proposed, result.appended, result.facts, result.major_overdue) == (1, 0, 1, 1)
    (case,) = proposals(world.unit_a)
    assert case.status == "proposed" and case.origin == Case.Origin.ESCALATION
    assert case.agency == world.county_a_bureau and case.title == TITLE
    assert case.proposed_on == TODAY
    assert case.deadline == services.period(django_settings.CASE_PROPOSAL_PERIOD, TODAY)
    assert case.number is None and case.created_by is None
    assert list(case.hazards.all()) == [late]
    (entry,) = case.evidence
    assert entry == {
        "rule": MAJOR,
        "hazard_id": late.pk,
        "reference": late.reference,
        "description": late.description,
        "level": "major",
        "status": "open",
        "found_on": late.found_on.isoformat(),
        "deadline": "2025-06-15",
        "extension_count": 0,
        "overdue_since": "2025-06-16",
        "rectified_on": None,
        "overdue_days": 1,
        "recorded_on": "2025-06-16",
    }
    (event,) = case.events.all()
    assert (event.action, event.actor, event.from_status, event.to_status) == (
        CaseEvent.Action.PROPOSED,
        None,
        "",
        "proposed",
    )
    assert event.data == {"rules": [MAJOR], "hazards": [late.pk], "facts": 1}
    (fact,) = EscalationFact.objects.all()
    assert (fact.key, fact.rule, fact.case, fact.enterprise) == (
        f"major_overdue:{late.pk}",
        MAJOR,
        case,
        world.unit_a,
    )
    # The bureau that confirms or dismisses it hears of it; nobody else does.
    for officer in (world.county_a, world.county_a2):
        (note,) = received(officer, "case.proposed")
        assert note.url == f"/cases/{case.pk}/"
        assert note.params["reference"] == case.reference and note.params["count"] == 1
        assert world.unit_a.name in note.text and "confirm or dismiss" in note.text
    assert result.notifications == 2
    for outsider in (world.county_b, world.city, world.unit_a_principal, world.unit_a_officer):
        assert not Notification.objects.filter(recipient=outsider).exists()


def test_major_hazard_due_today_or_handed_in_is_not_escalated(world: World) -> None:
    hazard(world.unit_a, 0, level="major")
    hazard(world.unit_a, 5, level="major", status=Hazard.Status.RECTIFYING)
    hazard(world.unit_a, -3, level="major", status=Hazard.Status.AWAITING_ACCEPTANCE)
    hazard(world.unit_a, -3, level="major", status=Hazard.Status.CANCELLED)

    assert run_escalation(TODAY).facts == 0
    assert not Case.objects.exists() and not Notification.objects.exists()


def test_a_general_hazard_overdue_once_is_not_escalated(world: World) -> None:
    hazard(world.unit_a, -30)
    assert run_escalation(TODAY).facts == 0


# --- rule (b): overdue after an extension --------------------------------------------------
def test_overdue_after_an_extension_is_escalated(world: World) -> None:
    late = hazard(world.unit_a, -1, extension_count=1)
    hazard(world.unit_a, 3, extension_count=1)  # extended, not yet due
    hazard(world.unit_a, 0, extension_count=2)  # due today

    result = run_escalation(TODAY)

    assert (result.proposed, result.extended_overdue, result.facts) == (1, 1, 1)
    (case,) = proposals(world.unit_a)
    assert facts_of(case) == {(EXTENDED, late.pk)}
    assert EscalationFact.objects.get().key == f"extended_overdue:{late.pk}:1"


def test_extension_not_overdue_is_not_escalated(world: World) -> None:
    hazard(world.unit_a, 10, extension_count=1)
    hazard(world.unit_a, -10, extension_count=1, status=Hazard.Status.AWAITING_ACCEPTANCE)
    assert run_escalation(TODAY).facts == 0


def test_major_hazard_overdue_after_extension_is_both_facts_in_one_proposal(world: World) -> None:
    late = hazard(world.unit_a, -2, level="major", extension_count=1)
    result = run_escalation(TODAY)
    assert (result.proposed, result.major_overdue, result.extended_overdue) == (1, 1, 1)
    (case,) = proposals(world.unit_a)
    assert facts_of(case) == {(MAJOR, late.pk), (EXTENDED, late.pk)}
    assert case.hazards.count() == 1
    assert case.events.get().data["rules"] == [MAJOR, EXTENDED]


def test_missing_a_second_extended_deadline_is_a_new_fact(world: World) -> None:
    late = hazard(world.unit_a, -1, extension_count=1)
    run_escalation(TODAY)
    first = Case.objects.get()
    services.case_drop(actor=world.county_a, case=first, reason="已当面督促，暂不立案。")

    # The bureau grants another deadline, and the unit misses that one too.
    Hazard.objects.filter(pk=late.pk).update(extension_count=2, deadline=TODAY + timedelta(days=5))
    assert run_escalation(TODAY + timedelta(days=5)).facts == 0
    result = run_escalation(TODAY + timedelta(days=6))

    assert (result.proposed, result.extended_overdue) == (1, 1)
    second = Case.objects.exclude(pk=first.pk).get()
    assert facts_of(second) == {(EXTENDED, late.pk)}
    assert second.evidence[0]["extension_count"] == 2


# --- rule (c): repeatedly overdue within the window ----------------------------------------
def test_three_overdue_hazards_within_a_year_are_escalated(world: World) -> None:
    now_late = hazard(world.unit_a, -1)
    handed_in_late = late_closed(world.unit_a, days_ago=100)
    # Reported overdue in the window and still awaiting acceptance.
    reported = hazard(
        world.unit_a,
        -60,
        status=Hazard.Status.AWAITING_ACCEPTANCE,
        overdue_since=TODAY - timedelta(days=59),
        rectified_on=TODAY - timedelta(days=50),
    )

    result = run_escalation(TODAY)

    assert (result.proposed, result.repeated_overdue, result.facts) == (1, 3, 3)
    (case,) = proposals(world.unit_a)
    assert facts_of(case) == {
        (REPEATED, now_late.pk),
        (REPEATED, handed_in_late.pk),
        (REPEATED, reported.pk),
    }
    by_hazard = {e["hazard_id"]: e for e in case.evidence}
    assert by_hazard[handed_in_late.pk]["overdue_days"] == 5
    assert by_hazard[now_late.pk]["overdue_days"] == 1


def test_handed_in_late_counts_even_when_the_job_did_not_see_it(world: World) -> None:
    hazard(world.unit_a, -1)
    hazard(world.unit_a, -2)
    unseen = HazardFactory.create(
        enterprise=world.unit_a,
        found_on=TODAY - timedelta(days=90),
        deadline=TODAY - timedelta(days=70),
        status=Hazard.Status.CLOSED,
        rectified_on=TODAY - timedelta(days=68),
    )
    assert run_escalation(TODAY).repeated_overdue == 3
    assert (REPEATED, unseen.pk) in facts_of(Case.objects.get())


def test_two_overdue_hazards_with_threshold_three_are_not_escalated(world: World) -> None:
    hazard(world.unit_a, -1)
    late_closed(world.unit_a, days_ago=30)
    hazard(world.unit_a, 0)  # due today: not late yet
    hazard(world.unit_a, -5, status=Hazard.Status.CANCELLED)  # never a hazard
    on_time = late_closed(world.unit_a, days_ago=30, late_by=0)  # handed in on its deadline
    Hazard.objects.filter(pk=on_time.pk).update(overdue_since=None)
    hazard(world.unit_b, -1)  # another unit's

    assert run_escalation(TODAY).facts == 0


def test_lateness_that_ended_thirteen_months_ago_does_not_count(world: World) -> None:
    hazard(world.unit_a, -1)
    hazard(world.unit_a, -2)
    late_closed(world.unit_a, days_ago=400)

    assert run_escalation(TODAY).facts == 0


def test_a_hazard_overdue_for_thirteen_months_counts(world: World) -> None:
    hazard(world.unit_a, -1)
    hazard(world.unit_a, -2)
    hazard(world.unit_a, -400, overdue_since=TODAY - timedelta(days=399))
    assert run_escalation(TODAY).repeated_overdue == 3


def test_extension_forgives_the_lateness_before_it(world: World) -> None:
    hazard(world.unit_a, -1)
    hazard(world.unit_a, -2)
    # Once overdue, then extended (the flag is cleared) and handed in before the new deadline.
    hazard(
        world.unit_a,
        10,
        extension_count=1,
        status=Hazard.Status.AWAITING_ACCEPTANCE,
        rectified_on=TODAY - timedelta(days=1),
    )
    assert run_escalation(TODAY).facts == 0


def test_repeat_facts_are_used_once_and_a_new_batch_needs_the_threshold(world: World) -> None:
    first = [hazard(world.unit_a, -d) for d in (1, 2, 3)]
    run_escalation(TODAY)
    case = Case.objects.get()
    assert facts_of(case) == {(REPEATED, h.pk) for h in first}

    hazard(world.unit_a, -1, found_on=TODAY - timedelta(days=10))
    hazard(world.unit_a, -1, found_on=TODAY - timedelta(days=10))
    assert run_escalation(TODAY + timedelta(days=1)).facts == 0
    third = hazard(world.unit_a, -1, found_on=TODAY - timedelta(days=10))
    result = run_escalation(TODAY + timedelta(days=2))

    # Appended to the open proposal; the first three are not counted again.
    assert (result.proposed, result.appended, result.repeated_overdue) == (0, 1, 3)
    case.refresh_from_db()
    assert len(case.evidence) == 6 and (REPEATED, third.pk) in facts_of(case)


def test_a_hazard_used_for_a_major_fact_still_counts_toward_repetition(world: World) -> None:
    major = hazard(world.unit_a, -1, level="major")
    run_escalation(TODAY)
    others = [hazard(world.unit_a, -d) for d in (1, 2)]
    result = run_escalation(TODAY + timedelta(days=1))
    assert result.repeated_overdue == 3
    case = Case.objects.get()
    assert facts_of(case) == {(MAJOR, major.pk)} | {(REPEATED, h.pk) for h in (major, *others)}


# --- never twice ---------------------------------------------------------------------------
def test_running_again_proposes_nothing(world: World) -> None:
    hazard(world.unit_a, -1, level="major")
    for d in (1, 2, 3):
        hazard(world.unit_b, -d)
    first = run_escalation(TODAY)
    assert (first.proposed, first.facts) == (2, 4)
    counts = (Case.objects.count(), CaseEvent.objects.count(), Notification.objects.count())

    for day in (TODAY, TODAY + timedelta(days=1), TODAY + timedelta(days=30)):
        again = run_escalation(day)
        assert (again.proposed, again.appended, again.facts, again.notifications) == (0, 0, 0, 0)
    assert (Case.objects.count(), CaseEvent.objects.count(), Notification.objects.count()) == (
        counts
    )


def test_dismissed_proposal_facts_are_never_proposed_again(world: World) -> None:
    hazard(world.unit_a, -1, level="major")
    run_escalation(TODAY)
    dismissed = Case.objects.get()
    services.case_drop(actor=world.county_a, case=dismissed, reason="隐患已在整改，暂不立案。")

    assert run_escalation(TODAY + timedelta(days=1)).facts == 0
    assert Case.objects.count() == 1

    # A new fact opens a new proposal: a dismissed one takes no more evidence.
    new = hazard(world.unit_a, -1, level="major", found_on=TODAY)
    result = run_escalation(TODAY + timedelta(days=1))
    assert result.proposed == 1
    fresh = Case.objects.exclude(pk=dismissed.pk).get()
    assert fresh.status == "proposed" and facts_of(fresh) == {(MAJOR, new.pk)}
    dismissed.refresh_from_db()
    assert dismissed.status == "dropped" and len(dismissed.evidence) == 1


def test_new_facts_are_appended_to_the_open_proposal(world: World) -> None:
    first = hazard(world.unit_a, -1, level="major")
    run_escalation(TODAY)
    case = Case.objects.get()
    deadline = case.deadline
    second = hazard(world.unit_a, -1, extension_count=1, found_on=TODAY - timedelta(days=5))

    result = run_escalation(TODAY + timedelta(days=1))

    assert (result.proposed, result.appended, result.facts) == (0, 1, 1)
    case.refresh_from_db()
    assert [e["hazard_id"] for e in case.evidence] == [first.pk, second.pk]
    assert case.evidence[1]["recorded_on"] == "2025-06-17"
    assert set(case.hazards.all()) == {first, second} and case.deadline == deadline
    assert [e.action for e in case.events.all()] == ["proposed", "evidence"]
    added = case.events.get(action="evidence")
    assert (added.from_status, added.to_status, added.actor) == ("proposed", "proposed", None)
    assert added.data == {"rules": [EXTENDED], "hazards": [second.pk], "facts": 1}
    (note,) = received(world.county_a, "case.evidence")
    assert note.params["count"] == 1 and note.url == f"/cases/{case.pk}/"


def test_registered_case_gets_no_more_evidence_a_new_proposal_opens(world: World) -> None:
    hazard(world.unit_a, -1, level="major")
    run_escalation(TODAY)
    case = Case.objects.get()
    services.case_update(
        actor=world.county_a,
        case=case,
        data={
            "facts": "经查，该单位重大隐患逾期未整改。",
            "officers": [world.county_a, world.county_a2],
            "provisions": [LegalProvision.objects.get(code="wsl-2021-102")],
        },
    )
    services.case_register(actor=world.county_a, case=case)
    new = hazard(world.unit_a, -1, level="major", found_on=TODAY)

    assert run_escalation(TODAY + timedelta(days=1)).proposed == 1
    fresh = Case.objects.exclude(pk=case.pk).get()
    assert facts_of(fresh) == {(MAJOR, new.pk)}


def test_a_manual_proposal_is_left_alone(world: World) -> None:
    manual = CaseFactory.create(enterprise=world.unit_a, agency=world.county_a_bureau)
    hazard(world.unit_a, -1, level="major")
    assert run_escalation(TODAY).proposed == 1
    manual.refresh_from_db()
    assert manual.evidence == [] and Case.objects.filter(enterprise=world.unit_a).count() == 2


def test_a_racing_run_proposes_nothing_twice(world: World) -> None:
    hazard(world.unit_a, -1, level="major")
    for d in (1, 2, 3):
        hazard(world.unit_b, -d)
    # Both runs scanned before either wrote: the second one's scan is stale.
    stale = escalation.facts_by_unit(TODAY, None)
    run_escalation(TODAY)
    with mock.patch.object(escalation, "facts_by_unit", return_value=stale):
        result = run_escalation(TODAY)
    assert (result.proposed, result.appended, result.skipped, result.failed) == (0, 0, 2, 0)
    assert Case.objects.count() == 2 and CaseEvent.objects.count() == 2


def test_one_unit_failing_loses_nothing_for_the_others(world: World) -> None:
    hazard(world.unit_a, -1, level="major")
    hazard(world.unit_b, -1, level="major")
    real = services.handling_agency

    def broken(unit: Enterprise, actor: Any = None) -> Any:
        if unit.pk == world.unit_a.pk:
            raise RuntimeError("database hiccup")
        return real(unit, actor)

    with mock.patch("weibao.enforcement.escalation.handling_agency", broken):
        result = run_escalation(TODAY)
    assert (result.proposed, result.failed) == (1, 1)
    assert proposals(world.unit_a) == [] and len(proposals(world.unit_b)) == 1
    assert not EscalationFact.objects.filter(enterprise=world.unit_a).exists()
    # The next run proposes what the failed one could not.
    assert run_escalation(TODAY).proposed == 1


def test_the_proposal_is_the_bureaus_not_the_units(world: World) -> None:
    hazard(world.unit_a, -1, level="major")
    run_escalation(TODAY)
    case = Case.objects.get()
    for user in (world.county_a, world.city, world.admin):
        assert Case.objects.visible_to(user).filter(pk=case.pk).exists()
    for user in (world.county_b, world.unit_a_principal, world.partner_user):
        assert not Case.objects.visible_to(user).filter(pk=case.pk).exists()


def test_a_county_without_bureau_goes_to_the_city(world: World) -> None:
    elsewhere = EnterpriseFactory.create(jurisdiction_id="430421")  # 衡阳县: no bureau here
    hazard(elsewhere, -1, level="major")
    run_escalation(TODAY)
    assert Case.objects.get().agency == world.city_bureau
    assert received(world.city, "case.proposed")


# --- settings ------------------------------------------------------------------------------
def test_thresholds_are_settings(world: World, settings: Any) -> None:
    settings.ESCALATE_REPEAT_COUNT = 2
    hazard(world.unit_a, -1)
    hazard(world.unit_a, -2)
    assert run_escalation(TODAY).repeated_overdue == 2


def test_the_window_is_a_setting(world: World, settings: Any) -> None:
    settings.ESCALATE_REPEAT_WINDOW_DAYS = 30
    hazard(world.unit_a, -1)
    hazard(world.unit_a, -2)
    late_closed(world.unit_a, days_ago=60)
    assert run_escalation(TODAY).facts == 0
    settings.ESCALATE_REPEAT_WINDOW_DAYS = 90
    assert run_escalation(TODAY).repeated_overdue == 3


def test_rules_can_be_turned_off(world: World, settings: Any) -> None:
    settings.ESCALATE_MAJOR_OVERDUE = False
    settings.ESCALATE_EXTENDED_OVERDUE = False
    settings.ESCALATE_REPEAT_COUNT = 0
    hazard(world.unit_a, -1, level="major", extension_count=1)
    for d in (1, 2, 3):
        hazard(world.unit_a, -d)
    assert run_escalation(TODAY).facts == 0

    settings.ESCALATE_EXTENDED_OVERDUE = True
    result = run_escalation(TODAY)
    assert (result.major_overdue, result.extended_overdue, result.repeated_overdue) == (0, 1, 0)


# --- the daily job -------------------------------------------------------------------------
def test_daily_task_is_registered_and_runs_the_rules(world: World) -> None:
    from weibao.enforcement.tasks import enforcement_escalation

    job = scheduling.jobs()["enforcement.escalation"]
    assert job.task is enforcement_escalation and (job.at.hour, job.at.minute) == (7, 30)
    hazard(world.unit_a, -1, level="major", found_on=timezone.localdate() - timedelta(days=40))
    Hazard.objects.update(deadline=timezone.localdate() - timedelta(days=1))
    counts = enforcement_escalation.enqueue().return_value
    assert counts["proposed"] == 1 and counts["major_overdue"] == 1
    assert set(counts) == {
        "proposed",
        "appended",
        "facts",
        "major_overdue",
        "extended_overdue",
        "repeated_overdue",
        "notifications",
        "skipped",
        "failed",
    }


# --- queries -------------------------------------------------------------------------------
def _build(units: list[Enterprise], per_unit: int) -> None:
    for unit in units:
        for i in range(per_unit):
            hazard(unit, -1 - i, level="major" if i % 2 else "general", extension_count=i % 3)


def _queries(today: date) -> int:
    with CaptureQueriesContext(connection) as queries:
        run_escalation(today)
    return len(queries)


def test_scan_queries_do_not_grow_with_hazards(world: World) -> None:
    quiet = _queries(TODAY)  # nothing to propose: the scan alone
    assert quiet <= 2
    _build([world.unit_a], 4)
    few = _queries(TODAY)
    Case.objects.all().delete()
    Hazard.objects.all().delete()
    _build([world.unit_a], 40)
    many = _queries(TODAY)
    assert many == few
    assert _queries(TODAY) == quiet  # the rerun: the scan only


def test_writes_are_bounded_per_proposal(world: World) -> None:
    _build([world.unit_a], 4)
    one = _queries(TODAY)
    Case.objects.all().delete()
    Hazard.objects.all().delete()
    more = [world.unit_a, *EnterpriseFactory.create_batch(3, jurisdiction_id="430405")]
    _build(more, 4)
    four = _queries(TODAY)
    per_unit = (four - one) / 3
    assert per_unit <= 14, per_unit
