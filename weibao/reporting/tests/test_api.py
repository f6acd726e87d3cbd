"""The signed-in API of internal reports and reporting channels: isolation, shape, filters, every
verification step (and what a refused one leaves behind), the reporter's identity, oversight and
query counts. Public endpoints: test_api_public.py."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from weibao.accounts.models import User
from weibao.core.models import AuditEntry, IdempotencyRecord
from weibao.hazards.models import Hazard
from weibao.reporting import services as rs
from weibao.reporting.models import InternalReport, ReportChannel, ReportEvent, ReportPhoto
from weibao.reporting.selectors import report_by_receipt
from weibao.tests.contracts import ScopedApiContract
from weibao.tests.factories import (
    COUNTY_A,
    REPORTER_NAME,
    REPORTER_PHONE,
    EnterpriseFactory,
    SiteFactory,
    World,
    camera_photo,
    report_at,
)

pytestmark = pytest.mark.django_db

LIST = reverse("api:internal-report-list")
OVERSIGHT = reverse("api:internal-report-oversight")
CHANNELS = reverse("api:report-channel-list")
MINE = reverse("api:report-channel-mine")


def detail(report: InternalReport) -> str:
    return reverse("api:internal-report-detail", args=[report.pk])


def step(report: InternalReport, name: str) -> str:
    return reverse(f"api:internal-report-{name}", args=[report.pk])


def ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def account_report(user: User, **data: Any) -> InternalReport:
    fields = {
        "category": "unsafe_act",
        "description": "有人在库区吸烟",
        "location": "2号库",
        **data,
    }
    report, _code = rs.report_submit_account(actor=user, data=fields)
    return report


def overdue(report: InternalReport) -> InternalReport:
    InternalReport.objects.filter(pk=report.pk).update(
        verify_by=timezone.localdate() - timedelta(days=1)
    )
    report.refresh_from_db()
    return report


def escalated(world: World, report: InternalReport, code: str) -> InternalReport:
    overdue(report)
    return rs.report_escalate(receipt=code, note="单位一直没有核实")


def with_identity_permission(user: User) -> User:
    user.user_permissions.add(Permission.objects.get(codename="view_reporter_identity"))
    fresh: User = User.objects.get(pk=user.pk)  # a new object: permissions are cached on one
    return fresh


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


# --- isolation ------------------------------------------------------------------------------
class TestReportIsolation(ScopedApiContract):
    """County B never sees county A's; unit B never unit A's; the partner none. Unit A's object
    is a named report by the employee, so both the officer (the queue) and the employee (their
    own report) see it."""

    list_route = "api:internal-report-list"
    detail_route = "api:internal-report-detail"
    partner_sees_a = False
    unit_sees_a = True

    def make(self, world: World, county: str) -> InternalReport:
        if county == COUNTY_A:
            return account_report(world.unit_a_employee)
        report: InternalReport = report_at(world, unit=world.unit_b)[0]
        return report


class TestChannelIsolation(ScopedApiContract):
    list_route = "api:report-channel-list"
    detail_route = "api:report-channel-detail"
    partner_sees_a = False
    unit_sees_a = True

    def make(self, world: World, county: str) -> ReportChannel:
        unit = (
            world.unit_a if county == COUNTY_A else EnterpriseFactory.create(jurisdiction_id=county)
        )
        return rs.channel_for(unit)


def test_employee_sees_only_their_own_named_reports(world: World, api: Any) -> None:
    qr, _code = report_at(world)
    named = account_report(world.unit_a_employee)
    anonymous = account_report(world.unit_a_employee, anonymous=True)
    assert ids(api(world.unit_a_employee).get(LIST)) == {named.pk}
    assert api(world.unit_a_employee).get(detail(qr)).status_code == 404
    assert api(world.unit_a_employee).get(detail(anonymous)).status_code == 404
    assert ids(api(world.unit_a_officer).get(LIST)) == {qr.pk, named.pk, anonymous.pk}
    assert ids(api(world.unit_b_officer).get(LIST)) == set()
    assert api(world.unit_b_officer).get(detail(named)).status_code == 404


# --- shape ----------------------------------------------------------------------------------
def test_list_row_shape(world: World, api: Any) -> None:
    site = SiteFactory.create(enterprise=world.unit_a, name="1号库")
    report, _code = report_at(world, "confirmed", site=site, location="")
    row = api(world.unit_a_officer).get(LIST).json()["results"][0]
    assert row["id"] == report.pk
    assert row["reference"] == report.reference and row["reference"].startswith("NB")
    assert row["enterprise"] == {
        "id": world.unit_a.pk,
        "name": world.unit_a.name,
        "uscc": world.unit_a.uscc,
    }
    assert row["jurisdiction"] == COUNTY_A
    assert (row["via"], row["via_display"]) == ("qr", "QR code (no login)")
    assert (row["category"], row["category_display"]) == (
        "unsafe_equipment",
        "Unsafe state of equipment",
    )
    assert row["site"] == {"id": site.pk, "name": "1号库"}
    assert (row["status"], row["status_display"]) == ("confirmed", "Confirmed")
    assert row["overdue"] is False and row["verified_in_time"] is True
    assert row["hazard"] == {"id": report.hazard_id, "reference": report.hazard.reference}
    assert row["reward_proposed"] == "200.00" and row["reward_amount"] is None
    assert row["allowed_actions"] == ["reward"]
    assert row["complaint_open"] is False and row["duplicate_of"] is None
    for hidden in ("reporter", "anonymous", "receipt_hash", "identity"):
        assert hidden not in row
    # Only the unit's managers verify.
    assert api(world.county_a).get(LIST).json()["results"][0]["allowed_actions"] == []


def test_detail_shape_with_photos_and_timeline(world: World, api: Any) -> None:
    report, _code = report_at(world, "rewarded", photos=2)
    body = api(world.unit_a_officer).get(detail(report)).json()
    assert body["status"] == "rewarded" and body["reward_amount"] == "200.00"
    assert body["reward_paid_on"] == timezone.localdate().isoformat()
    assert body["reply"] == "已核实，正在更换"
    assert body["reporter"] == {"disclosed": False}
    assert [e["action"] for e in body["events"]] == ["submitted", "start", "confirm", "reward"]
    submitted = body["events"][0]
    assert submitted["by_reporter"] is True and submitted["actor"] is None
    assert submitted["actor_name"] == "reporter"
    assert (submitted["from_status"], submitted["to_status"]) == (None, "submitted")
    start = body["events"][1]
    assert start["actor_name"] == str(world.unit_a_officer) and start["by_reporter"] is False
    assert len(body["photos"]) == 2
    url = body["photos"][0]["url"]
    assert url.startswith("http://testserver/api/v1/internal-reports/")
    photo = api(world.unit_a_officer).get(url)
    assert photo.status_code == 200 and photo["Content-Type"] == "image/jpeg"
    data = b"".join(photo.streaming_content)
    assert not Image.open(BytesIO(data)).getexif()
    assert REPORTER_NAME.encode() not in data
    # The photo is served only with a visible report.
    assert api(world.county_b).get(url).status_code == 404
    assert api(world.unit_b_officer).get(url).status_code == 404
    other, _ = report_at(world, photos=1)
    wrong = reverse(
        "api:internal-report-photo",
        args=[other.pk, report.photos.first().pk],
    )
    assert api(world.unit_a_officer).get(wrong).status_code == 404


def test_reporter_summary_by_role(world: World, api: Any) -> None:
    named, _ = report_at(world, named=True)
    consented, _ = report_at(world, named=True, consent=True)
    anonymous, _ = report_at(world)
    officer = api(world.unit_a_officer)
    assert officer.get(detail(named)).json()["reporter"] == {"disclosed": False}
    assert officer.get(detail(consented)).json()["reporter"] == {"disclosed": True}
    assert officer.get(detail(anonymous)).json()["reporter"] == {"disclosed": False}
    county = api(world.county_a)
    assert county.get(detail(named)).json()["reporter"] == {"anonymous": False, "may_reveal": False}
    permitted = api(with_identity_permission(world.county_a))
    assert permitted.get(detail(named)).json()["reporter"] == {
        "anonymous": False,
        "may_reveal": True,
    }
    assert permitted.get(detail(anonymous)).json()["reporter"] == {
        "anonymous": True,
        "may_reveal": False,
    }


# --- filters --------------------------------------------------------------------------------
def test_filters(world: World, api: Any) -> None:
    submitted, _ = report_at(world, description="配电箱门未关")
    verifying, _ = report_at(world, "verifying", category="unsafe_act")
    late, late_code = report_at(world, "verifying")
    escalated(world, late, late_code)
    b_report, _ = report_at(world, unit=world.unit_b)
    client = api(world.city)
    assert ids(client.get(LIST, {"status": "submitted"})) == {submitted.pk, b_report.pk}
    assert ids(client.get(LIST, {"status": ["verifying"], "category": "unsafe_act"})) == {
        verifying.pk
    }
    assert ids(client.get(LIST, {"enterprise": world.unit_b.pk})) == {b_report.pk}
    assert ids(client.get(LIST, {"county": "430406"})) == {b_report.pk}
    assert ids(client.get(LIST, {"county": "430400"})) == {
        submitted.pk,
        verifying.pk,
        late.pk,
        b_report.pk,
    }
    assert ids(client.get(LIST, {"overdue": "true"})) == {late.pk}
    assert late.pk not in ids(client.get(LIST, {"overdue": "false"}))
    assert ids(client.get(LIST, {"complaint_open": "true"})) == {late.pk}
    today = timezone.localdate()
    InternalReport.objects.filter(pk=b_report.pk).update(submitted_on=today - timedelta(days=10))
    assert ids(client.get(LIST, {"submitted_before": (today - timedelta(days=5)).isoformat()})) == {
        b_report.pk
    }
    assert b_report.pk not in ids(client.get(LIST, {"submitted_after": today.isoformat()}))
    assert ids(client.get(LIST, {"search": submitted.reference})) == {submitted.pk}
    lower = f"nb{today.year}-{submitted.pk}"  # case and padding do not matter
    assert ids(client.get(LIST, {"search": lower})) == {submitted.pk}
    assert ids(client.get(LIST, {"search": "配电箱"})) == {submitted.pk}
    assert ids(client.get(LIST, {"search": f"NB{today.year - 1}-{submitted.pk:06d}"})) == set()
    # Bad filter values are named, not ignored.
    assert "county" in problem(client.get(LIST, {"county": "999999"}), 400)["errors"]
    assert "overdue" in problem(client.get(LIST, {"overdue": "maybe"}), 400)["errors"]
    assert "status" in problem(client.get(LIST, {"status": "lost"}), 400)["errors"]
    assert "ordering" in problem(client.get(LIST, {"ordering": "receipt_hash"}), 400)["errors"]


# --- reporting from an account ----------------------------------------------------------------
def test_employee_reports_from_their_account(world: World, api: Any) -> None:
    site = SiteFactory.create(enterprise=world.unit_a)
    client = api(world.unit_a_employee)
    response = client.post(
        LIST,
        {"category": "unsafe_act", "description": "叉车超速", "site": site.pk},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "reference", "receipt", "verify_by"}
    assert response["Cache-Control"] == "no-store"
    report = InternalReport.objects.get(pk=body["id"])
    assert report_by_receipt(body["receipt"]) == report
    assert (report.via, report.site_id, report.anonymous) == ("account", site.pk, False)
    assert report.identity.user_id == world.unit_a_employee.pk
    # The receipt is not part of the report afterwards.
    assert "receipt" not in client.get(detail(report)).json()


def test_account_report_as_multipart_with_photos(world: World, api: Any) -> None:
    response = api(world.unit_a_employee).post(
        LIST,
        {
            "category": "unsafe_environment",
            "description": "通道堆放纸箱",
            "location": "包装车间",
            "anonymous": "true",
            "photos": [camera_photo(), camera_photo()],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    report = InternalReport.objects.get(pk=response.json()["id"])
    assert report.anonymous and report.photos.count() == 2
    # Anonymous: not linked to the account, so not in the employee's own list.
    assert ids(api(world.unit_a_employee).get(LIST)) == set()


def test_account_report_refusals_write_nothing(world: World, api: Any) -> None:
    other_site = SiteFactory.create(enterprise=world.unit_b)
    employee = api(world.unit_a_employee)
    cases = [
        ({"category": "unsafe_act", "description": "x", "site": other_site.pk}, "site"),
        ({"category": "theft", "description": "x", "location": "y"}, "category"),
        ({"category": "unsafe_act", "description": "", "location": "y"}, "description"),
        ({"category": "unsafe_act", "description": "x"}, "location"),
        ({"category": "unsafe_act", "description": "x", "location": "y", "phone": "abc"}, "phone"),
        ({"category": "unsafe_act", "description": "x", "location": 5}, "location"),
    ]
    for payload, field in cases:
        body = problem(employee.post(LIST, payload, format="json"), 400)
        assert field in body["errors"], (payload, body)
    too_many = [camera_photo() for _ in range(7)]
    body = problem(
        employee.post(
            LIST,
            {"category": "unsafe_act", "description": "x", "location": "y", "photos": too_many},
            format="multipart",
        ),
        400,
    )
    assert "photos" in body["errors"]
    payload = {"category": "unsafe_act", "description": "x", "location": "y"}
    assert problem(api(world.county_a).post(LIST, payload, format="json"), 403)["detail"]
    assert not InternalReport.objects.exists() and not ReportPhoto.objects.exists()


def test_account_report_is_idempotent_without_keeping_the_receipt(world: World, api: Any) -> None:
    client = api(world.unit_a_employee)
    payload = {"category": "unsafe_act", "description": "消防栓被挡", "location": "1号库"}
    first = client.post(LIST, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-account-1")
    again = client.post(LIST, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-account-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert InternalReport.objects.count() == 1
    record = IdempotencyRecord.objects.get()
    stored = json.dumps(record.response_body)
    # Nothing in the record reads the receipt or ties it to the account.
    assert first.json()["receipt"] not in stored and "k-account-1" not in record.key
    assert record.user_id == 0
    other = client.post(
        LIST, {**payload, "description": "别的"}, format="json", HTTP_IDEMPOTENCY_KEY="k-account-1"
    )
    assert problem(other, 422)
    # Another account with the same key is another record.
    officer = api(world.unit_a_officer).post(
        LIST, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-account-1"
    )
    assert officer.status_code == 201 and officer.json()["id"] != first.json()["id"]


# --- verification steps -----------------------------------------------------------------------
def test_start_then_409_naming_the_allowed_steps(world: World, api: Any) -> None:
    report, _ = report_at(world)
    client = api(world.unit_a_officer)
    response = client.post(step(report, "start"), {"note": "安排人员核查"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "verifying"
    assert body["allowed_actions"] == ["confirm", "reject", "duplicate"]
    assert body["events"][-1]["note"] == "安排人员核查"
    again = problem(client.post(step(report, "start"), {}, format="json"), 409)
    assert set(again["allowed"]) == {"confirm", "reject", "duplicate"}
    assert again["current_status"] == "verifying"
    assert report.events.filter(action="start").count() == 1


def test_who_may_verify(world: World, api: Any) -> None:
    report = account_report(world.unit_a_employee)
    # Unit B does not see unit A's report at all.
    assert problem(api(world.unit_b_officer).post(step(report, "start"), {}, format="json"), 404)
    # The reporter and the bureau see it but do not verify it.
    for user in (world.unit_a_employee, world.county_a):
        body = problem(api(user).post(step(report, "start"), {}, format="json"), 403)
        assert body["detail"] == "Only the unit's principal or safety officer verifies its reports."
    report.refresh_from_db()
    assert report.status == "submitted" and report.events.count() == 1


def test_confirm_records_the_hazard_linked_both_ways(world: World, api: Any) -> None:
    report, _ = report_at(world, "verifying", photos=1)
    client = api(world.unit_a_officer)
    response = client.post(
        step(report, "confirm"),
        {
            "level": "general",
            "hazard_category": "equipment",
            "reply": "属实，已安排更换",
            "working_days": 3,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    hazard = Hazard.objects.get(pk=body["hazard"]["id"])
    assert hazard.source == "internal_report" and hazard.attachments.count() == 1
    assert body["hazard"]["reference"] == hazard.reference
    assert body["reward_proposed"] == "200.00" and body["allowed_actions"] == ["reward"]
    hazard_body = client.get(reverse("api:hazard-detail", args=[hazard.pk])).json()
    assert hazard_body["internal_report"] == {"id": report.pk, "reference": report.reference}


def test_confirm_refusals_write_nothing(world: World, api: Any) -> None:
    report, _ = report_at(world, "verifying")
    other_site = SiteFactory.create(enterprise=world.unit_b)
    client = api(world.unit_a_officer)
    cases = [
        ({"level": "huge", "hazard_category": "equipment"}, "level"),
        ({"level": "general"}, "hazard_category"),
        ({"level": "general", "hazard_category": "equipment", "working_days": "3"}, "working_days"),
        ({"level": "general", "hazard_category": "equipment", "site": other_site.pk}, "site"),
        ({"level": "general", "hazard_category": "equipment", "deadline": "soon"}, "deadline"),
    ]
    for payload, field in cases:
        body = problem(client.post(step(report, "confirm"), payload, format="json"), 400)
        assert field in body["errors"], (payload, body)
    # Unit B confirming unit A's report: not found, nothing happens.
    problem(
        api(world.unit_b_officer).post(
            step(report, "confirm"),
            {"level": "general", "hazard_category": "equipment"},
            format="json",
        ),
        404,
    )
    report.refresh_from_db()
    assert report.status == "verifying" and report.hazard_id is None
    assert not Hazard.objects.exists()


def test_reject_needs_a_reason(world: World, api: Any) -> None:
    report, _ = report_at(world, "verifying")
    client = api(world.unit_a_officer)
    assert (
        "reason" in problem(client.post(step(report, "reject"), {}, format="json"), 400)["errors"]
    )
    blank = problem(client.post(step(report, "reject"), {"reason": "  "}, format="json"), 400)
    assert "reason" in blank["errors"]
    assert InternalReport.objects.get(pk=report.pk).status == "verifying"
    response = client.post(step(report, "reject"), {"reason": "灯具完好"}, format="json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["reply"]) == ("rejected", "灯具完好")


def test_duplicate_links_an_earlier_report_of_the_same_unit(world: World, api: Any) -> None:
    original, _ = report_at(world, "verifying")
    report, _ = report_at(world, "verifying")
    b_report, _ = report_at(world, unit=world.unit_b)
    client = api(world.unit_a_officer)
    for value in (b_report.pk, 999999, str(original.pk)):
        body = problem(
            client.post(step(report, "duplicate"), {"duplicate_of": value}, format="json"), 400
        )
        assert "duplicate_of" in body["errors"]
    later = problem(
        client.post(step(original, "duplicate"), {"duplicate_of": report.pk}, format="json"), 400
    )
    assert "duplicate_of" in later["errors"]
    assert InternalReport.objects.filter(status="duplicate").count() == 0
    response = client.post(step(report, "duplicate"), {"duplicate_of": original.pk}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "duplicate"
    assert body["duplicate_of"] == {"id": original.pk, "reference": original.reference}
    assert original.reference in body["reply"]


def test_reward_once_within_the_cap(world: World, api: Any) -> None:
    report, _ = report_at(world, "confirmed")
    client = api(world.unit_a_officer)
    today = timezone.localdate()
    cases = [
        ({"amount": "10000.01"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": 300}, "amount"),
        ({"amount": "300", "paid_on": (today + timedelta(days=1)).isoformat()}, "paid_on"),
    ]
    for payload, field in cases:
        body = problem(client.post(step(report, "reward"), payload, format="json"), 400)
        assert field in body["errors"], (payload, body)
    assert InternalReport.objects.get(pk=report.pk).status == "confirmed"
    response = client.post(
        step(report, "reward"), {"amount": "300.00", "reference": "财务凭证 12"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["reward_amount"], body["reward_reference"]) == (
        "rewarded",
        "300.00",
        "财务凭证 12",
    )
    twice = problem(client.post(step(report, "reward"), {"amount": "500"}, format="json"), 409)
    assert twice["allowed"] == [] and twice["current_status"] == "rewarded"
    report.refresh_from_db()
    assert report.reward_amount == Decimal("300.00")
    assert report.events.filter(action="reward").count() == 1


def test_county_handles_a_raised_report(world: World, api: Any) -> None:
    report, code = report_at(world)
    url = step(report, "handle-complaint")
    assert problem(api(world.county_a).post(url, {"reply": "x"}, format="json"), 409)
    escalated(world, report, code)
    assert api(world.county_a).get(detail(report)).json()["allowed_actions"] == ["handle-complaint"]
    assert problem(api(world.county_b).post(url, {"reply": "x"}, format="json"), 404)
    assert problem(api(world.unit_a_officer).post(url, {"reply": "x"}, format="json"), 403)
    assert "reply" in problem(api(world.county_a).post(url, {}, format="json"), 400)["errors"]
    response = api(world.county_a).post(url, {"reply": "已责令单位三日内核实"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["complaint_open"] is False and body["complaint_reply"] == "已责令单位三日内核实"
    assert body["complaint_handled_by_name"] == str(world.county_a)
    assert [e["action"] for e in body["events"]][-2:] == ["escalated", "complaint_handled"]
    assert body["events"][-2]["actor_name"] == "reporter"
    assert problem(api(world.county_a).post(url, {"reply": "again"}, format="json"), 409)


# --- the reporter's identity ----------------------------------------------------------------
def test_reporter_only_for_the_permitted_regulator_and_audited(world: World, api: Any) -> None:
    report, _ = report_at(world, named=True)
    url = step(report, "reporter")
    for user in (world.county_a, world.unit_a_officer, world.unit_a_principal, world.city):
        body = problem(api(user).get(url), 403)
        assert REPORTER_NAME not in json.dumps(body, ensure_ascii=False)
    assert problem(api(world.county_b).get(url), 404)
    assert problem(api(world.unit_b_officer).get(url), 404)
    assert not AuditEntry.objects.filter(action="view").exists()
    officer = with_identity_permission(world.county_a)
    response = api(officer).get(url)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "name": REPORTER_NAME,
        "phone": REPORTER_PHONE,
        "consent_to_unit": False,
        "account": None,
    }
    assert response["Cache-Control"] == "no-store"
    entry = AuditEntry.objects.get(action="view")
    assert entry.actor_id == officer.pk and entry.object_type == "reporting.reporteridentity"
    # The permission reaches only the units the regulator supervises.
    b_report, _ = report_at(world, unit=world.unit_b, named=True)
    assert problem(api(with_identity_permission(world.county_b)).get(step(report, "reporter")), 404)
    other = api(with_identity_permission(world.county_b)).get(step(b_report, "reporter"))
    assert other.status_code == 200
    # An anonymous report has no one to reveal.
    anonymous, _ = report_at(world)
    assert problem(api(officer).get(step(anonymous, "reporter")), 403)


def test_consented_reporter_is_shown_to_the_unit(world: World, api: Any) -> None:
    report, _ = report_at(world, named=True, consent=True)
    response = api(world.unit_a_officer).get(step(report, "reporter"))
    assert response.status_code == 200
    assert response.json()["name"] == REPORTER_NAME
    assert problem(api(world.unit_a_employee).get(step(report, "reporter")), 404)


def _leaks(response: Any) -> bool:
    text = response.content.decode()
    return any(
        secret in text or json.dumps(secret)[1:-1] in text
        for secret in (REPORTER_NAME, REPORTER_PHONE)
    )


def test_no_unit_side_response_names_a_reporter_without_consent(world: World, api: Any) -> None:
    """Every unit-side JSON answer (list, detail with events, step answers, oversight, channels,
    the hazard a report became) for a named report whose reporter did not consent."""
    confirmed, _ = report_at(world, "confirmed", named=True, photos=1)
    raised, code = report_at(world, "verifying", named=True)
    escalated(world, raised, code)
    rs.report_handle_complaint(actor=world.county_a, report=raised, reply="已督促")
    pending, _ = report_at(world, named=True)
    own = account_report(world.unit_a_employee)
    officer = api(world.unit_a_officer)
    responses = [
        officer.post(step(pending, "start"), {}, format="json"),
        officer.post(step(confirmed, "reward"), {"amount": "100"}, format="json"),
    ]
    assert all(r.status_code == 200 for r in responses), [r.content for r in responses]
    hazard_url = reverse("api:hazard-detail", args=[confirmed.hazard_id])
    for user in (
        world.unit_a_officer,
        world.unit_a_principal,
        world.unit_a_employee,
        world.county_a,
        world.city,
    ):
        client = api(user)
        urls = [LIST, OVERSIGHT, CHANNELS, MINE, hazard_url, reverse("api:hazard-list")]
        urls += [detail(r) for r in (confirmed, raised, pending, own)]
        urls += [LIST + "?search=" + REPORTER_NAME, LIST + "?search=" + REPORTER_PHONE]
        for url in urls:
            response = client.get(url)
            assert response.status_code in (200, 403, 404), (url, response.content)
            responses.append(response)
    for response in responses:
        assert not _leaks(response), response.content.decode()
    # Searching by the reporter's name or phone finds nothing.
    assert ids(officer.get(LIST, {"search": REPORTER_NAME})) == set()
    assert ids(officer.get(LIST, {"search": REPORTER_PHONE})) == set()
    # The timelines hold no name either, whoever took the steps.
    for event in ReportEvent.objects.all():
        assert REPORTER_NAME not in event.note and REPORTER_PHONE not in event.note


# --- oversight --------------------------------------------------------------------------------
def test_oversight_by_unit_and_county(world: World, api: Any) -> None:
    report_at(world, "rewarded")
    report_at(world, "rejected")
    late, _ = report_at(world)
    overdue(late)
    report_at(world, unit=world.unit_b)
    city = api(world.city).get(OVERSIGHT).json()
    assert [row["label"] for row in city["units"]] == [world.unit_a.name, world.unit_b.name]
    unit_a = city["units"][0]
    assert unit_a["key"] == str(world.unit_a.pk)
    assert (unit_a["received"], unit_a["decided"], unit_a["verified_in_time"]) == (3, 2, 2)
    assert (unit_a["confirmed"], unit_a["rewarded"], unit_a["reward_total"]) == (1, 1, "200.00")
    assert (unit_a["overdue"], unit_a["in_time_rate"]) == (1, "1.0000")
    assert [row["key"] for row in city["counties"]] == [COUNTY_A, "430406"]
    assert city["total"]["received"] == 4
    county_a = api(world.county_a).get(OVERSIGHT).json()
    assert [row["key"] for row in county_a["units"]] == [str(world.unit_a.pk)]
    own = api(world.unit_b_officer).get(OVERSIGHT).json()
    assert [row["key"] for row in own["units"]] == [str(world.unit_b.pk)]
    assert own["total"]["in_time_rate"] is None
    assert problem(api(world.unit_a_employee).get(OVERSIGHT), 403)
    assert problem(api(world.partner_user).get(OVERSIGHT), 403)
    today = timezone.localdate()
    empty = api(world.city).get(OVERSIGHT, {"start": (today + timedelta(days=1)).isoformat()})
    assert empty.json()["units"] == [] and empty.json()["total"]["received"] == 0
    bad = api(world.city).get(OVERSIGHT, {"start": today.isoformat(), "end": "2000-01-01"})
    assert "end" in problem(bad, 400)["errors"]
    assert "start" in problem(api(world.city).get(OVERSIGHT, {"start": "yesterday"}), 400)["errors"]


# --- channels ---------------------------------------------------------------------------------
def test_mine_opens_the_channel_with_the_default_policy(world: World, api: Any) -> None:
    assert ids(api(world.unit_a_officer).get(CHANNELS)) == set()
    response = api(world.unit_a_employee).get(MINE)
    assert response.status_code == 200, response.content
    body = response.json()
    channel = ReportChannel.objects.get(enterprise=world.unit_a)
    assert body["id"] == channel.pk and body["token"] == channel.token
    assert body["link"] == f"http://testserver/r/{channel.token}/"
    assert (body["reward_general"], body["reward_major"], body["reward_cap"]) == (
        "200.00",
        "2000.00",
        "10000.00",
    )
    assert body["is_open"] is True and body["may_change"] is False
    assert api(world.unit_a_officer).get(MINE).json()["may_change"] is True
    assert ids(api(world.unit_a_officer).get(CHANNELS)) == {channel.pk}
    assert problem(api(world.county_a).get(MINE), 403)


def test_policy_is_changed_by_the_unit_managers_only(world: World, api: Any) -> None:
    channel = rs.channel_for(world.unit_a)
    url = reverse("api:report-channel-detail", args=[channel.pk])
    payload = {
        "reward_general": "300.00",
        "verify_within": 3,
        "payout_instructions": "凭回执码到财务室",
    }
    for user in (world.unit_a_employee, world.county_a, world.city):
        body = problem(api(user).patch(url, payload, format="json"), 403)
        assert body["detail"] == "Only the unit's principal or safety officer sets its policy."
    assert problem(api(world.unit_b_officer).patch(url, payload, format="json"), 404)
    client = api(world.unit_a_officer)
    bad = [
        ({"reward_major": "20000"}, "reward_major"),
        ({"reward_cap": "100"}, "reward_general"),
        ({"verify_within": 0}, "verify_within"),
        ({"verify_within": "5"}, "verify_within"),
        ({"reward_general": 300}, "reward_general"),
        ({"is_open": "no"}, "is_open"),
    ]
    for change, field in bad:
        assert field in problem(client.patch(url, change, format="json"), 400)["errors"], change
    channel.refresh_from_db()
    assert channel.reward_general == Decimal("200.00") and channel.verify_within == 5
    response = client.patch(url, payload, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["reward_general"] == "300.00"
    assert response.json()["payout_instructions"] == "凭回执码到财务室"
    assert problem(client.put(url, payload, format="json"), 405)


def test_rotate_retires_the_old_code(world: World, api: Any) -> None:
    channel = rs.channel_for(world.unit_a)
    old = channel.token
    url = reverse("api:report-channel-rotate", args=[channel.pk])
    assert problem(api(world.unit_a_employee).post(url), 403)
    response = api(world.unit_a_officer).post(url)
    assert response.status_code == 200
    new = response.json()["token"]
    assert new != old and response.json()["link"].endswith(f"/r/{new}/")
    public = reverse("api:public-report-channel-detail", args=[old])
    assert api().get(public).status_code == 404
    assert api().get(reverse("api:public-report-channel-detail", args=[new])).status_code == 200


# --- query counts -----------------------------------------------------------------------------
def count_queries(client: Any, url: str) -> int:
    client.get(url)  # warm per-user caches (permissions)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(queries)


@pytest.mark.parametrize("persona", ["city", "unit_a_officer"])
def test_list_queries_do_not_grow(world: World, api: Any, persona: str) -> None:
    client = api(getattr(world, persona))
    site = SiteFactory.create(enterprise=world.unit_a)
    report_at(world, "confirmed", site=site)
    one = count_queries(client, LIST)
    for stage in ("submitted", "verifying", "confirmed", "rewarded", "rejected") * 4:
        report_at(world, stage, site=site)
    assert InternalReport.objects.count() >= 20
    assert count_queries(client, LIST) == one
    assert one <= 4


@pytest.mark.parametrize("persona", ["county_a", "unit_a_officer"])
def test_detail_queries_do_not_grow(world: World, api: Any, persona: str) -> None:
    client = api(getattr(world, persona))
    few, _ = report_at(world, "confirmed", named=True, photos=1)
    many, code = report_at(world, "verifying", named=True, photos=3)
    escalated(world, many, code)
    rs.report_handle_complaint(actor=world.county_a, report=many, reply="已督促")
    for _ in range(10):
        ReportEvent.objects.create(report=many, action="start", actor=world.unit_a_officer)
    assert count_queries(client, detail(many)) == count_queries(client, detail(few))
    assert count_queries(client, detail(many)) <= 8
