from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from weibao.accounts.models import User
from weibao.core import scheduling
from weibao.core.models import Notification
from weibao.hazards.followup import OVERDUE_LIST_URL, hazard_url, run_followup
from weibao.hazards.models import Hazard, HazardEvent
from weibao.registry.models import Enterprise
from weibao.tests.factories import HazardFactory, World

pytestmark = pytest.mark.django_db

TODAY = date(2025, 6, 16)


def hazard(unit: Enterprise, days: int, **kwargs: Any) -> Hazard:
    """A hazard of `unit` whose deadline is `days` from TODAY (negative: already passed)."""
    return HazardFactory.create(
        enterprise=unit,
        found_on=TODAY - timedelta(days=40),
        deadline=TODAY + timedelta(days=days),
        **kwargs,
    )


def received(user: User, verb: str | None = None) -> list[Notification]:
    notes = Notification.objects.filter(recipient=user).order_by("id")
    return list(notes.filter(verb=verb) if verb else notes)


def test_reminders_three_days_ahead_and_on_the_day_only(world: World, settings: Any) -> None:
    settings.HAZARD_REMIND_DAYS_BEFORE = 3
    d3 = hazard(world.unit_a, 3)
    d0 = hazard(world.unit_a, 0, status=Hazard.Status.RECTIFYING)
    for days in (1, 2, 4, 10):
        hazard(world.unit_a, days)
    hazard(world.unit_a, 3, status=Hazard.Status.AWAITING_ACCEPTANCE)
    hazard(world.unit_a, 0, status=Hazard.Status.CLOSED)

    result = run_followup(TODAY)

    assert (result.due_soon, result.due_today, result.overdue) == (1, 1, 0)
    for manager in (world.unit_a_principal, world.unit_a_officer):
        (soon,) = received(manager, "hazard.due_soon")
        assert soon.url == hazard_url(d3.pk) == f"/hazards/{d3.pk}/"
        assert soon.params["days"] == 3 and soon.params["reference"] == d3.reference
        assert "days left: 3" in soon.text and world.unit_a.name in soon.text
        (due,) = received(manager, "hazard.due_today")
        assert due.url == hazard_url(d0.pk) and "due today" in due.text
    for outsider in (world.unit_a_employee, world.unit_b_officer, world.county_a, world.city):
        assert received(outsider) == []
    events = HazardEvent.objects.filter(action=HazardEvent.Action.REMINDED)
    assert {(e.hazard_id, e.data["days_left"], e.actor_id) for e in events} == {
        (d3.pk, 3, None),
        (d0.pk, 0, None),
    }
    assert result.notifications == 4


def test_running_twice_the_same_day_reminds_once(world: World) -> None:
    hazard(world.unit_a, 3)
    hazard(world.unit_a, 0)
    hazard(world.unit_a, -1)
    first = run_followup(TODAY)
    notes, events = Notification.objects.count(), HazardEvent.objects.count()
    assert first.notifications > 0

    again = run_followup(TODAY)

    assert (again.due_soon, again.due_today, again.overdue, again.notifications) == (0, 0, 0, 0)
    assert (Notification.objects.count(), HazardEvent.objects.count()) == (notes, events)


def test_next_day_reminds_the_next_hazards(world: World) -> None:
    hazard(world.unit_a, 3)
    later = hazard(world.unit_a, 4)
    run_followup(TODAY)
    result = run_followup(TODAY + timedelta(days=1))
    assert (result.due_soon, result.due_today) == (1, 0)
    (note,) = received(world.unit_a_officer, "hazard.due_soon")[1:]
    assert note.params["hazard_id"] == later.pk


def test_overdue_is_marked_and_reported_to_unit_and_its_county(world: World) -> None:
    late_a = [hazard(world.unit_a, -1), hazard(world.unit_a, -30)]
    late_b = hazard(world.unit_b, -2)
    on_time = hazard(world.unit_a, 0)
    handed_in = hazard(world.unit_a, -5, status=Hazard.Status.AWAITING_ACCEPTANCE)

    result = run_followup(TODAY)

    assert (result.overdue, result.units) == (3, 2)
    marked = set(Hazard.objects.filter(overdue_since=TODAY).values_list("pk", flat=True))
    assert marked == {late_a[0].pk, late_a[1].pk, late_b.pk}
    assert on_time.pk not in marked and handed_in.pk not in marked
    overdue_events = HazardEvent.objects.filter(action=HazardEvent.Action.OVERDUE)
    assert {e.hazard_id for e in overdue_events} == marked
    for manager in (world.unit_a_principal, world.unit_a_officer):
        (note,) = received(manager, "hazard.overdue_unit")
        assert note.params["count"] == 2 and note.url == OVERDUE_LIST_URL
    assert received(world.unit_a_employee) == []
    (unit_b_note,) = received(world.unit_b_officer, "hazard.overdue_unit")
    assert unit_b_note.params["count"] == 1
    for officer in (world.county_a, world.county_a2):
        (note,) = received(officer, "hazard.overdue_county")
        assert (note.params["count"], note.params["units"]) == (2, 1)
        assert note.url == "/hazards/?overdue=true"
        assert "became overdue on 2025-06-16: 2" in note.text
    (county_b_note,) = received(world.county_b, "hazard.overdue_county")
    assert county_b_note.params["count"] == 1
    # The city bureau reads the overdue tile; the county bureau does the chasing.
    assert received(world.city) == [] and received(world.admin) == []


def test_overdue_is_reported_once_and_again_after_an_extension_runs_out(world: World) -> None:
    late = hazard(world.unit_a, -1)
    hazard(world.unit_a, -3)
    run_followup(TODAY)
    assert run_followup(TODAY + timedelta(days=1)).overdue == 0

    late.extend()
    late.deadline = TODAY + timedelta(days=2)
    late.save()
    assert run_followup(TODAY + timedelta(days=2)).overdue == 0
    result = run_followup(TODAY + timedelta(days=3))

    assert result.overdue == 1
    late.refresh_from_db()
    assert late.overdue_since == TODAY + timedelta(days=3)
    assert len(received(world.county_a, "hazard.overdue_county")) == 2


def test_inactive_people_are_not_told(world: World) -> None:
    User.objects.filter(pk__in=[world.county_a2.pk, world.unit_a_principal.pk]).update(
        is_active=False
    )
    hazard(world.unit_a, -1)
    hazard(world.unit_a, 3)
    run_followup(TODAY)
    assert received(world.county_a2) == [] and received(world.unit_a_principal) == []
    assert received(world.county_a) and received(world.unit_a_officer)


def test_email_copies_are_sent_after_commit(
    world: World, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    world.unit_a_officer.email = "officer@example.org"
    world.unit_a_officer.language = "en"
    world.unit_a_officer.save()
    hazard(world.unit_a, 0)
    with django_capture_on_commit_callbacks(execute=True):
        run_followup(TODAY)
    (mail,) = mailoutbox
    assert mail.to == ["officer@example.org"] and "due today" in mail.body


def build(count: int, world: World) -> None:
    for i in range(count):
        unit = world.unit_a if i % 2 else world.unit_b
        hazard(unit, (3, 0, -1 - i)[i % 3])


def queries_for(count: int, world: World) -> tuple[int, int]:
    build(count, world)
    with CaptureQueriesContext(connection) as queries:
        result = run_followup(TODAY)
    assert result.overdue + result.due_soon + result.due_today == count
    return len(queries), result.notifications


def test_query_count_does_not_grow_with_hazards(world: World) -> None:
    few, few_notes = queries_for(5, world)
    Hazard.objects.all().delete()
    many, many_notes = queries_for(50, world)
    assert many_notes > few_notes
    assert many == few


def test_daily_task_is_registered_and_returns_counts(world: World) -> None:
    from weibao.hazards.tasks import hazard_followup

    job = scheduling.jobs()["hazards.followup"]
    assert job.task is hazard_followup and job.at.hour == 7
    counts = hazard_followup.enqueue().return_value
    assert set(counts) == {"due_soon", "due_today", "overdue", "units", "notifications"}
