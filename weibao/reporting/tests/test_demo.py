"""The reporting demo: reports in every state at three units through the real services, one
raised to the county and one left past its limit; loading it again adds nothing."""

from __future__ import annotations

from collections import Counter
from io import BytesIO

import pytest
from django.utils import timezone
from PIL import Image

from weibao.accounts.demo import load_demo
from weibao.accounts.models import User
from weibao.core.models import AuditEntry, Notification
from weibao.hazards.models import Hazard
from weibao.registry.demo import demo_uscc
from weibao.reporting import selectors
from weibao.reporting.demo import POLICIES, REPORTS, TRANSPORT, demo_receipt, load_reporting_demo
from weibao.reporting.models import (
    InternalReport,
    ReportChannel,
    ReporterIdentity,
    ReportEvent,
    ReportPhoto,
)

pytestmark = pytest.mark.django_db

STATES = {"submitted", "verifying", "confirmed", "rejected", "duplicate", "rewarded"}


def counts() -> dict[str, int]:
    models = (InternalReport, ReporterIdentity, ReportEvent, ReportPhoto, ReportChannel)
    rows = {m.__name__: m.objects.count() for m in models}
    rows |= {m.__name__: m.objects.count() for m in (Hazard, Notification, AuditEntry)}
    return rows


def test_demo_and_a_second_load_adds_nothing() -> None:
    # One load for every check: the demo takes seconds to build.
    load_demo()
    assert load_reporting_demo() == {"internal reports": len(REPORTS)}
    check_states_and_dates()
    check_policies_identities_and_photos()
    check_zhuhui_sees_one_report_raised_and_one_left_past_its_limit()
    before = counts()
    assert load_reporting_demo() == {"internal reports": 0}
    assert counts() == before


def check_states_and_dates() -> None:
    today = timezone.localdate()
    reports = list(InternalReport.objects.select_related("enterprise", "hazard"))
    assert set(Counter(r.status for r in reports)) == STATES
    assert len({r.enterprise_id for r in reports}) >= 3

    for report in reports:
        # Dated consistently: submitted on its day, steps in order, nothing in the future.
        assert timezone.localdate(report.submitted_at) == report.submitted_on <= today
        times = [e.at for e in report.events.order_by("pk")]
        assert times == sorted(times) and times[0] >= report.submitted_at
        if report.decided_on is not None:
            assert report.submitted_on <= report.decided_on <= today
        if report.status in ("confirmed", "rewarded"):
            hazard = report.hazard
            assert hazard is not None and hazard.internal_report == report
            assert hazard.found_on == report.submitted_on and not hazard.is_overdue
        if report.status == "rewarded":
            cap = report.enterprise.report_channel.reward_cap
            assert report.decided_on <= report.reward_paid_on <= today
            assert 0 < report.reward_amount <= cap
        if report.status == "duplicate":
            assert report.duplicate_of.enterprise_id == report.enterprise_id
            assert report.duplicate_of.submitted_at < report.submitted_at

    # Both verified in time and late, so the oversight figures show both.
    decided = [r for r in reports if r.verified_in_time is not None]
    assert {r.verified_in_time for r in decided} == {True, False}


def check_policies_identities_and_photos() -> None:
    for key, policy in POLICIES.items():
        channel = ReportChannel.objects.get(enterprise__uscc=demo_uscc(key))
        assert {name: getattr(channel, name) for name in policy} == policy
    identities = list(ReporterIdentity.objects.select_related("report"))
    assert all(not i.report.anonymous for i in identities)
    assert {(i.consent_to_unit, i.user is not None) for i in identities} == {
        (True, False),  # named on the QR form, the unit may see who
        (False, False),  # named on the QR form, the unit may not
        (False, True),  # from the employee's account
    }
    assert InternalReport.objects.filter(anonymous=True, identity__isnull=True).count() >= 8
    employee = User.objects.get(username="nanling_employee")
    assert selectors.my_reports(employee).count() == 1
    photos = ReportPhoto.objects.all()
    assert photos.count() >= 5
    for photo in photos[:3]:
        with photo.file.open("rb") as handle:
            assert not Image.open(BytesIO(handle.read())).getexif()


def check_zhuhui_sees_one_report_raised_and_one_left_past_its_limit() -> None:
    zhuhui = User.objects.get(username="zhuhui")
    overdue = list(selectors.reports_overdue(zhuhui))
    complaints = list(selectors.open_complaints(zhuhui))
    assert len(overdue) == 2 and len(complaints) == 1
    assert all(r.enterprise.uscc == demo_uscc(TRANSPORT) for r in overdue)
    (raised,) = complaints
    assert raised in overdue and raised.escalation_note
    assert raised.events.filter(action="escalated").exists()
    assert Notification.objects.filter(recipient=zhuhui, verb="report.escalated").exists()
    # The reporter follows it with the demo's receipt code.
    assert selectors.report_by_receipt(demo_receipt("zh-escalated")) == raised
    status = selectors.public_status(raised)
    assert status["overdue"] and not status["may_escalate"]
    # The city sees the same two; the other county sees none of them.
    city = User.objects.get(username="city")
    assert set(selectors.reports_overdue(city)) == set(overdue)
    assert not selectors.reports_overdue(User.objects.get(username="yanfeng")).exists()
