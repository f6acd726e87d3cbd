"""Anonymity that holds: one named report whose reporter did NOT consent, taken through every
step (confirmed as a hazard, rewarded, the hazard rectified and accepted, raised to the bureau
and answered), then every place the unit's side can read is searched for the reporter's name,
phone and account: pages, API (including search by name), exports, PDFs, notifications and
their e-mails, timelines, the audit trail and the admin.

The other test modules check each surface on its own; this one is the single list the closing
note of issue #6 points to.
"""

from __future__ import annotations

import zipfile
from datetime import timedelta
from io import BytesIO
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from weibao.accounts.models import User
from weibao.core.models import AuditEntry, Notification
from weibao.core.notifications import send_notification_emails
from weibao.hazards import services as hs
from weibao.hazards.documents import acceptance_record_pdf
from weibao.reporting import services as rs
from weibao.reporting.models import InternalReport, ReportEvent
from weibao.tests.factories import REPORTER_NAME, REPORTER_PHONE, World, camera_photo

pytestmark = pytest.mark.django_db

REPORTER_USERNAME = "reporting_employee"


def _leaks(text: str) -> list[str]:
    return [secret for secret in (REPORTER_NAME, REPORTER_PHONE) if secret in text]


def _xlsx_text(content: bytes) -> str:
    with zipfile.ZipFile(BytesIO(content)) as archive:
        return "".join(
            archive.read(name).decode("utf-8", "replace")
            for name in archive.namelist()
            if name.endswith(".xml")
        )


def _pdf_text(content: bytes) -> str:
    return "".join(page.extract_text() or "" for page in PdfReader(BytesIO(content)).pages)


@pytest.fixture
def story(world: World) -> dict[str, Any]:
    """A named employee reports from their account without consent; the unit confirms and
    rewards it, fixes and accepts the hazard; a second report is raised to the bureau."""
    from weibao.accounts.models import Role
    from weibao.tests.factories import UserFactory

    reporter = UserFactory.create(
        username=REPORTER_USERNAME,
        full_name=REPORTER_NAME,
        phone=REPORTER_PHONE,
        role=Role.EMPLOYEE,
        agency=None,
        enterprise=world.unit_a,
    )
    officer = world.unit_a_officer
    data = {
        "category": "unsafe_act",
        "description": "夜班有人在库区吸烟",
        "location": "2号库区",
        "anonymous": False,
        "phone": REPORTER_PHONE,
        "consent_to_unit": False,
    }
    report, _code = rs.report_submit_account(actor=reporter, data=data, photos=[camera_photo()])
    rs.report_start(actor=officer, report=report)
    report = rs.report_confirm(
        actor=officer,
        report=report,
        level="general",
        hazard_category="operation",
        reply="已核实",
    )
    report = rs.report_reward(
        actor=officer, report=report, amount=report.reward_proposed, paid_on=timezone.localdate()
    )
    hazard = report.hazard
    assert hazard is not None
    hs.hazard_submit_rectification(actor=officer, hazard=hazard, note="已加强巡查")
    hs.hazard_accept(actor=officer, hazard=hazard, opinion="合格")

    late, late_code = rs.report_submit_account(actor=reporter, data=data)
    InternalReport.objects.filter(pk=late.pk).update(
        verify_by=timezone.localdate() - timedelta(days=1)
    )
    rs.report_escalate(receipt=late_code, note="单位未核实")
    rs.report_handle_complaint(actor=world.county_a, report=late, reply="已督促核实")
    report.refresh_from_db()
    return {"reporter": reporter, "report": report, "late": late, "hazard": report.hazard}


UNIT_PAGES = [
    ("home", None),
    ("report-list", None),
    ("report-detail", "report"),
    ("report-detail", "late"),
    ("report-policy", None),
    ("hazard-list", None),
    ("hazard-detail", "hazard"),
    ("notifications", None),
]


def test_unit_pages_never_name_the_reporter(
    client: Any, world: World, story: dict[str, Any]
) -> None:
    for user in (world.unit_a_officer, world.unit_a_principal, world.unit_a_employee):
        client.force_login(user)
        for name, key in UNIT_PAGES:
            url = reverse(name, args=[story[key].pk]) if key else reverse(name)
            response = client.get(url)
            if user == world.unit_a_employee and response.status_code in (302, 403, 404):
                continue  # an employee has no queue; a 404 shows nothing
            assert response.status_code == 200, (user, url, response.status_code)
            html = response.content.decode()
            assert not _leaks(html), (user.username, url)
            assert REPORTER_USERNAME not in html, (user.username, url)
        # The identity button is not offered, and posting to it is refused.
        assert client.post(reverse("report-reporter", args=[story["report"].pk])).status_code in (
            403,
            404,
        )


def test_unit_api_never_names_the_reporter(api: Any, world: World, story: dict[str, Any]) -> None:
    report, hazard = story["report"], story["hazard"]
    urls = [
        reverse("api:internal-report-list"),
        reverse("api:internal-report-list") + f"?search={REPORTER_NAME}",
        reverse("api:internal-report-list") + f"?search={REPORTER_PHONE}",
        reverse("api:internal-report-detail", args=[report.pk]),
        reverse("api:internal-report-detail", args=[story["late"].pk]),
        reverse("api:internal-report-oversight"),
        reverse("api:report-channel-list"),
        reverse("api:hazard-list"),
        reverse("api:hazard-detail", args=[hazard.pk]),
        reverse("api:notification-list"),
    ]
    for user in (world.unit_a_officer, world.unit_a_principal):
        client = api(user)
        for url in urls:
            response = client.get(url)
            assert response.status_code in (200, 403), (url, response.status_code)
            text = response.content.decode()
            assert not _leaks(text) and REPORTER_USERNAME not in text, (user.username, url)
        searched = client.get(reverse("api:internal-report-list"), {"search": REPORTER_NAME})
        assert searched.json()["count"] == 0
        assert client.get(
            reverse("api:internal-report-reporter", args=[report.pk])
        ).status_code in (403, 404)


def test_exports_and_pdfs_never_name_the_reporter(
    client: Any, api: Any, world: World, story: dict[str, Any]
) -> None:
    client.force_login(world.unit_a_officer)
    reports_xlsx = client.get(reverse("report-export"))
    assert reports_xlsx.status_code == 200
    assert not _leaks(_xlsx_text(reports_xlsx.content))
    hazards_xlsx = api(world.unit_a_officer).get(reverse("api:hazard-export"))
    assert hazards_xlsx.status_code == 200
    assert not _leaks(_xlsx_text(hazards_xlsx.content))

    poster = client.get(reverse("report-poster"))
    assert poster.status_code == 200 and not _leaks(_pdf_text(poster.content))
    record = _pdf_text(acceptance_record_pdf(story["hazard"]))
    assert "夜班有人在库区吸烟" in record and not _leaks(record)


def test_notifications_and_their_emails_never_name_the_reporter(
    world: World, story: dict[str, Any]
) -> None:
    unit_side = Notification.objects.exclude(recipient=story["reporter"])
    assert unit_side.filter(recipient=world.unit_a_officer, verb="report.submitted").exists()
    for note in unit_side:
        assert not _leaks(f"{note.text}{note.params}{note.url}"), note.verb
    for user in User.objects.exclude(pk=story["reporter"].pk):
        user.email = f"{user.username}@example.cn"
        user.save()
    send_notification_emails.call(list(unit_side.values_list("pk", flat=True)))
    assert mail.outbox
    for message in mail.outbox:
        assert not _leaks(f"{message.subject}{message.body}")


def test_history_never_names_the_reporter(world: World, story: dict[str, Any]) -> None:
    reporter = story["reporter"]
    # The reporter's own steps carry no actor on the timelines.
    assert not ReportEvent.objects.filter(actor=reporter).exists()
    steps = ReportEvent.objects.filter(action__in=["submitted", "escalated"])
    assert steps.count() == 3 and not steps.exclude(actor=None).exists()
    hazard = story["hazard"]
    assert hazard.created_by == world.unit_a_officer
    assert not hazard.events.filter(actor=reporter).exists()
    assert not hazard.attachments.filter(uploaded_by=reporter).exists()
    # Nothing in the whole audit trail names the reporter or was recorded under their account
    # (only the account's own creation, which is about the account, not a report).
    entries = AuditEntry.objects.exclude(object_type="accounts.user", object_id=str(reporter.pk))
    assert not entries.filter(actor_id=reporter.pk).exists()
    for entry in entries:
        text = f"{entry.actor_label}{entry.object_repr}{entry.before}{entry.after}"
        assert not _leaks(text), (entry.object_type, entry.action)


def test_audit_api_for_a_regulator_without_the_permission(
    api: Any, world: World, story: dict[str, Any]
) -> None:
    response = api(world.county_a).get(reverse("api:audit-list"), {"page_size": 500})
    assert response.status_code == 200
    rows = [
        row
        for row in response.json()["results"]
        if not (
            row["object_type"] == "accounts.user" and row["object_id"] == str(story["reporter"].pk)
        )
    ]
    assert rows and not _leaks(str(rows))
    # The unit's side has no access to the audit trail at all.
    assert api(world.unit_a_officer).get(reverse("api:audit-list")).status_code == 403


def test_admin_never_names_the_reporter(client: Any, world: World, story: dict[str, Any]) -> None:
    client.force_login(world.admin)
    report = story["report"]
    for url in (
        reverse("admin:reporting_internalreport_changelist"),
        reverse("admin:reporting_internalreport_change", args=[report.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert not _leaks(response.content.decode()), url
    # The identity has no admin page at all.
    assert client.get("/admin/reporting/reporteridentity/").status_code == 404


def test_control_the_identity_is_there_for_those_allowed(
    api: Any, world: World, story: dict[str, Any]
) -> None:
    """The searches above would pass vacuously if the identity were never stored."""
    from django.contrib.auth.models import Permission

    world.county_a.user_permissions.add(Permission.objects.get(codename="view_reporter_identity"))
    officer = User.objects.get(pk=world.county_a.pk)
    url = reverse("api:internal-report-reporter", args=[story["report"].pk])
    assert _leaks(api(officer).get(url).content.decode()) == [REPORTER_NAME, REPORTER_PHONE]
    assert api(story["reporter"]).get(url).status_code == 200
