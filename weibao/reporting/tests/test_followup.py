from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from weibao.core.models import Notification
from weibao.reporting.followup import run_report_followup
from weibao.reporting.models import InternalReport
from weibao.tests.factories import REPORTER_NAME, World, report_at

pytestmark = pytest.mark.django_db


def test_reminds_on_the_day_and_reports_overdue_once(
    world: World, django_assert_max_num_queries: object
) -> None:
    today = timezone.localdate()
    due, _ = report_at(world, named=True)
    late, _ = report_at(world, "verifying")
    done, _ = report_at(world, "rejected")
    InternalReport.objects.filter(pk=due.pk).update(verify_by=today)
    InternalReport.objects.filter(pk__in=[late.pk, done.pk]).update(
        verify_by=today - timedelta(days=2)
    )
    other, _ = report_at(world, unit=world.unit_b)
    InternalReport.objects.filter(pk=other.pk).update(verify_by=today - timedelta(days=1))
    Notification.objects.all().delete()

    result = run_report_followup(today)
    assert (result.due_today, result.overdue, result.units) == (1, 2, 2)
    verbs = {(n.recipient_id, n.verb) for n in Notification.objects.all()}
    assert (world.unit_a_officer.pk, "report.due_today") in verbs
    assert (world.unit_a_officer.pk, "report.overdue_unit") in verbs
    assert (world.county_a.pk, "report.overdue_county") in verbs
    assert (world.county_b.pk, "report.overdue_county") in verbs
    county_a = Notification.objects.get(recipient=world.county_a, verb="report.overdue_county")
    assert county_a.params["count"] == 1
    assert all(REPORTER_NAME not in n.text for n in Notification.objects.all())

    assert run_report_followup(today).notifications == 0


def test_query_count_does_not_grow(world: World, django_assert_max_num_queries: object) -> None:
    today = timezone.localdate()
    for _ in range(5):
        report_at(world)
    InternalReport.objects.update(verify_by=today - timedelta(days=1))
    with django_assert_max_num_queries(12):  # type: ignore[operator]
        run_report_followup(today)
