from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from PIL import Image

from weibao.core.errors import DomainError, ServiceValidationError
from weibao.core.models import AuditEntry, Notification
from weibao.hazards.models import Hazard
from weibao.reporting import services as rs
from weibao.reporting.models import InternalReport, ReporterIdentity
from weibao.reporting.selectors import report_by_receipt
from weibao.tests.factories import (
    REPORTER_NAME,
    REPORTER_PHONE,
    World,
    camera_photo,
    report_at,
)

pytestmark = pytest.mark.django_db


def test_anonymous_report_stores_no_identity_and_only_a_receipt_hash(world: World) -> None:
    report, code = report_at(world, photos=1)
    assert report.anonymous and not ReporterIdentity.objects.filter(report=report).exists()
    assert code not in report.receipt_hash and len(code) == 24
    assert report_by_receipt(code) == report
    assert report_by_receipt(code.lower().replace("-", " ")) == report
    assert report.verify_by > report.submitted_on
    # The submission is on the timeline and in the audit trail without an actor.
    assert report.events.get().actor is None
    entry = AuditEntry.objects.get(object_type="reporting.internalreport", action="create")
    assert entry.actor_id is None and entry.actor_label == "reporter"
    # The unit's managers are told, with nothing about the reporter.
    notes = Notification.objects.filter(verb="report.submitted")
    assert {n.recipient_id for n in notes} == {world.unit_a_principal.pk, world.unit_a_officer.pk}


def test_photo_is_reencoded_without_metadata(world: World) -> None:
    report, _code = report_at(world, photos=1)
    stored = report.photos.get()
    assert stored.file.name.endswith(".jpg") and REPORTER_NAME not in stored.file.name
    with stored.file.open("rb") as handle:
        data = handle.read()
    image = Image.open(BytesIO(data))
    assert not image.getexif() and "exif" not in image.info
    assert REPORTER_NAME.encode() not in data and b"ReporterPhone" not in data


def test_named_report_identity_is_apart_and_redacted_in_history(world: World) -> None:
    report, _code = report_at(world, named=True)
    identity = ReporterIdentity.objects.get(report=report)
    assert (identity.name, identity.phone) == (REPORTER_NAME, REPORTER_PHONE)
    assert not report.anonymous
    entries = AuditEntry.objects.filter(object_type="reporting.reporteridentity")
    for entry in entries:
        text = f"{entry.object_repr}{entry.before}{entry.after}{entry.actor_label}"
        assert REPORTER_NAME not in text and REPORTER_PHONE not in text


def test_confirm_creates_linked_hazard_and_proposes_reward(world: World) -> None:
    report, _code = report_at(world, "confirmed", photos=2)
    hazard = report.hazard
    assert hazard is not None and hazard.source == Hazard.Source.INTERNAL_REPORT
    assert hazard.internal_report == report
    assert hazard.attachments.count() == 2
    assert report.reward_proposed == Decimal("200.00")
    assert report.decided_by == world.unit_a_officer


def test_reward_once_within_cap(world: World) -> None:
    report, _code = report_at(world, "confirmed")
    with pytest.raises(ServiceValidationError) as exc:
        rs.report_reward(
            actor=world.unit_a_officer,
            report=report,
            amount=Decimal("999999"),
            paid_on=timezone.localdate(),
        )
    assert "amount" in exc.value.message_dict
    rs.report_reward(
        actor=world.unit_a_officer,
        report=report,
        amount=Decimal("300"),
        paid_on=timezone.localdate(),
    )
    with pytest.raises(DomainError):
        rs.report_reward(
            actor=world.unit_a_officer,
            report=report,
            amount=Decimal("300"),
            paid_on=timezone.localdate(),
        )
    report.refresh_from_db()
    assert (
        report.reward_amount == Decimal("300.00")
        and report.events.filter(action="reward").count() == 1
    )


def test_other_unit_cannot_verify(world: World) -> None:
    report, _code = report_at(world)
    with pytest.raises(PermissionDenied):
        rs.report_start(actor=world.unit_b_officer, report=report)
    with pytest.raises(PermissionDenied):
        rs.report_start(actor=world.unit_a_employee, report=report)
    assert InternalReport.objects.get(pk=report.pk).status == "submitted"


def test_escalation_only_after_limit_then_county_handles(world: World) -> None:
    report, code = report_at(world)
    with pytest.raises(DomainError):
        rs.report_escalate(receipt=code, note="没人处理")
    InternalReport.objects.filter(pk=report.pk).update(
        verify_by=timezone.localdate() - timedelta(days=1)
    )
    with pytest.raises(rs.ReceiptNotFound):
        rs.report_escalate(receipt="AAAA-BBBB-CCCC-DDDD-EEEE", note="")
    report = rs.report_escalate(receipt=code, note="没人处理")
    assert report.complaint_open
    assert Notification.objects.filter(verb="report.escalated", recipient=world.county_a).exists()
    assert not Notification.objects.filter(
        verb="report.escalated", recipient=world.county_b
    ).exists()
    with pytest.raises(PermissionDenied):
        rs.report_handle_complaint(actor=world.county_b, report=report, reply="x")
    report = rs.report_handle_complaint(actor=world.county_a, report=report, reply="已责令整改")
    assert not report.complaint_open


def test_identity_reveal_needs_permission_and_is_audited(world: World) -> None:
    from django.contrib.auth.models import Permission

    report, _code = report_at(world, named=True)
    with pytest.raises(PermissionDenied):
        rs.identity_reveal(actor=world.county_a, report=report)
    with pytest.raises(PermissionDenied):
        rs.identity_reveal(actor=world.unit_a_officer, report=report)
    world.county_a.user_permissions.add(Permission.objects.get(codename="view_reporter_identity"))
    from weibao.accounts.models import User

    officer = User.objects.get(pk=world.county_a.pk)
    identity = rs.identity_reveal(actor=officer, report=report)
    assert identity.name == REPORTER_NAME
    assert AuditEntry.objects.filter(
        action="view", object_type="reporting.reporteridentity", actor_id=officer.pk
    ).exists()


def test_bad_input_writes_nothing(world: World, settings: object) -> None:
    channel = rs.channel_for(world.unit_a)
    cases = [
        ({"category": "x", "description": "d", "location": "l"}, "category"),
        ({"category": "unsafe_act", "description": " ", "location": "l"}, "description"),
        ({"category": "unsafe_act", "description": "d"}, "location"),
        ({"category": "unsafe_act", "description": "d", "location": "l", "phone": "abc"}, "phone"),
    ]
    for data, field in cases:
        with pytest.raises(ServiceValidationError) as exc:
            rs.report_submit_public(token=channel.token, data=data)
        assert field in exc.value.message_dict
    with pytest.raises(ServiceValidationError) as exc:
        rs.report_submit_public(token="nope", data=cases[0][0])
    assert "unit_token" in exc.value.message_dict
    assert InternalReport.objects.count() == 0
    assert camera_photo()


def test_account_reports_link_only_when_named(world: World) -> None:
    from weibao.reporting.selectors import my_reports

    data = {"category": "unsafe_act", "description": "违规吸烟", "location": "装卸区"}
    hidden, _code = rs.report_submit_account(
        actor=world.unit_a_employee, data={**data, "anonymous": True}
    )
    named, _code = rs.report_submit_account(
        actor=world.unit_a_employee, data={**data, "anonymous": False}
    )
    assert not ReporterIdentity.objects.filter(report=hidden).exists() and hidden.anonymous
    assert ReporterIdentity.objects.get(report=named).user == world.unit_a_employee
    assert list(my_reports(world.unit_a_employee)) == [named]
    assert set(InternalReport.objects.visible_to(world.unit_a_employee)) == {named}
    # Neither submission is recorded under the employee's account.
    assert not AuditEntry.objects.filter(actor_id=world.unit_a_employee.pk).exists()
    rs.report_start(actor=world.unit_a_officer, report=named)
    rs.report_start(actor=world.unit_a_officer, report=hidden)
    told = Notification.objects.filter(verb="report.updated")
    assert [n.recipient_id for n in told] == [world.unit_a_employee.pk]
    with pytest.raises(PermissionDenied):
        rs.report_submit_account(actor=world.county_a, data=data)


def test_log_lines_never_carry_a_receipt_code() -> None:
    import logging

    from weibao.core.logging import RedactReceiptsFilter

    record = logging.LogRecord(
        "django.request",
        logging.WARNING,
        __file__,
        1,
        "Not Found: %s",
        ("/api/v1/public/internal-reports/ABCD-EFGH-JKMN-PQRS-TVWX/",),
        None,
    )
    assert RedactReceiptsFilter().filter(record)
    assert record.getMessage() == "Not Found: /api/v1/public/internal-reports/<receipt>/"
