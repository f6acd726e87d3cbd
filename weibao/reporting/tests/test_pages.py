"""The signed-in pages of internal reports: the employee's report and "my reports", the unit's
queue and a report's page with its steps, photos and the identity button, the reward policy, the
bureau's oversight, the home tiles and the menu; who sees what, and that nothing on the unit's
side names the reporter."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from weibao.accounts.models import User
from weibao.core.models import AuditEntry
from weibao.hazards.models import Hazard
from weibao.reporting import services as rs
from weibao.reporting.models import InternalReport, ReporterIdentity
from weibao.tests.factories import (
    REPORTER_NAME,
    REPORTER_PHONE,
    PersonFactory,
    SiteFactory,
    World,
    camera_photo,
    report_at,
)

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
TODAY = timezone.localdate()


@pytest.fixture(autouse=True)
def _today() -> None:
    """Today as of each test, not as of the import: a run crossing midnight (Asia/Shanghai)
    would otherwise build yesterday's deadlines against today's pages."""
    global TODAY
    TODAY = timezone.localdate()


@pytest.fixture
def client(client: Any, settings: Any) -> Any:
    settings.LANGUAGE_CODE = "en"
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def as_user(client: Any, user: User) -> Any:
    client.force_login(user)
    return client


def body(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return str(response.content.decode())


def detail_url(report: InternalReport) -> str:
    return reverse("report-detail", args=[report.pk])


def action_url(report: InternalReport, action: str) -> str:
    return reverse("report-action", args=[report.pk, action])


def texts(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def overdue(report: InternalReport, days: int = 1) -> InternalReport:
    InternalReport.objects.filter(pk=report.pk).update(verify_by=TODAY - timedelta(days=days))
    report.refresh_from_db()
    return report


def with_identity_permission(user: User) -> User:
    user.user_permissions.add(Permission.objects.get(codename="view_reporter_identity"))
    fresh: User = User.objects.get(pk=user.pk)  # permissions are cached per instance
    return fresh


# --- access ---------------------------------------------------------------------------------------
def test_anonymous_is_sent_to_sign_in(client: Any, world: World) -> None:
    report, _code = report_at(world, photos=1)
    photo = report.photos.get()
    urls = [
        reverse("report-list"),
        reverse("report-create"),
        reverse("report-mine"),
        reverse("report-policy"),
        reverse("report-oversight"),
        detail_url(report),
        reverse("report-photo", args=[report.pk, photo.pk]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    for url in (action_url(report, "start"), reverse("report-reporter", args=[report.pk])):
        response = client.post(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("who", "list_status", "detail_status"),
    [
        ("unit_a_officer", 200, 200),
        ("unit_a_principal", 200, 200),
        ("county_a", 200, 200),
        ("city", 200, 200),
        ("admin", 200, 200),
        ("unit_a_employee", 302, 404),  # not theirs: an employee follows their own reports
        ("unit_b_officer", 200, 404),
        ("county_b", 200, 404),
        ("partner_user", 403, 404),
    ],
)
def test_who_sees_the_list_and_a_report(
    client: Any, world: World, who: str, list_status: int, detail_status: int
) -> None:
    report, _code = report_at(world, photos=1)
    photo = report.photos.get()
    as_user(client, getattr(world, who))
    response = client.get(reverse("report-list"))
    assert response.status_code == list_status
    if list_status == 200:
        listed = report.reference in body(response)
        assert listed == (detail_status == 200)
    if list_status == 302:
        assert response["Location"] == reverse("report-mine")
    assert client.get(detail_url(report)).status_code == detail_status
    photo_response = client.get(reverse("report-photo", args=[report.pk, photo.pk]))
    assert photo_response.status_code == detail_status
    if detail_status == 404:
        response = client.post(action_url(report, "start"))
        assert response.status_code == 404
        assert InternalReport.objects.get(pk=report.pk).status == "submitted"


def test_employee_sees_own_named_report_only(client: Any, world: World) -> None:
    as_user(client, world.unit_a_employee)
    response = client.post(reverse("report-create"), {**fields(), "anonymous": ""})
    assert "receipt-code" in body(response)
    mine = InternalReport.objects.get()
    other, _code = report_at(world)
    html = body(client.get(reverse("report-mine")))
    assert mine.reference in html and other.reference not in html
    assert client.get(detail_url(mine)).status_code == 200
    assert client.get(detail_url(other)).status_code == 404
    # Seeing the report gives no step on it.
    page = client.get(detail_url(mine))
    assert page.context["steps"] == []
    response = client.post(action_url(mine, "start"))
    assert response.status_code == 302
    assert any("principal or safety officer" in t for t in texts(response))
    assert InternalReport.objects.get(pk=mine.pk).status == "submitted"


def test_photo_is_served_only_with_its_report(client: Any, world: World) -> None:
    report, _code = report_at(world, photos=1)
    other, _code = report_at(world, photos=1)
    as_user(client, world.unit_a_officer)
    response = client.get(reverse("report-photo", args=[report.pk, report.photos.get().pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert "private" in response["Cache-Control"]
    wrong = reverse("report-photo", args=[report.pk, other.photos.get().pk])
    assert client.get(wrong).status_code == 404


# --- reporting from an account --------------------------------------------------------------------
def fields(**extra: Any) -> dict[str, Any]:
    return {
        "category": "unsafe_act",
        "location": "装卸区",
        "description": "有人在库区吸烟",
        **extra,
    }


def test_account_report_is_anonymous_by_default(client: Any, world: World) -> None:
    as_user(client, world.unit_a_employee)
    page = body(client.get(reverse("report-create")))
    assert re.search(r'name="anonymous"[^>]*checked', page)
    assert 'capture="environment" multiple' in page
    response = client.post(
        reverse("report-create"), {**fields(), "anonymous": "on", "photos": [camera_photo()]}
    )
    html = body(response)
    assert "receipt-code" in html and "no-store" in response["Cache-Control"]
    report = InternalReport.objects.get()
    assert report.anonymous and report.via == "account" and report.photos.count() == 1
    assert not ReporterIdentity.objects.exists()
    assert report.reference not in body(client.get(reverse("report-mine")))


def test_account_report_errors_are_shown(client: Any, world: World) -> None:
    as_user(client, world.unit_a_employee)
    html = body(client.post(reverse("report-create"), {"description": SCRIPT, "anonymous": "on"}))
    assert "Choose one of the four categories." in html
    assert SCRIPT not in html and ESCAPED in html
    assert InternalReport.objects.count() == 0


@pytest.mark.parametrize("who", ["county_a", "partner_user", "admin"])
def test_only_unit_staff_report_from_an_account(client: Any, world: World, who: str) -> None:
    as_user(client, getattr(world, who))
    assert client.get(reverse("report-create")).status_code == 403
    assert client.post(reverse("report-create"), fields()).status_code == 403
    assert client.get(reverse("report-mine")).status_code == 403
    assert client.get(reverse("report-policy")).status_code == 403


# --- the queue ------------------------------------------------------------------------------------
def test_queue_highlights_overdue_and_counts_statuses(client: Any, world: World) -> None:
    late = overdue(report_at(world)[0], days=3)
    waiting, _code = report_at(world, "verifying")
    done, _code = report_at(world, "rewarded")
    report_at(world, unit=world.unit_b)
    as_user(client, world.unit_a_officer)
    response = client.get(reverse("report-list"))
    html = body(response)
    rows = [r.pk for r in response.context["rows"]]
    assert rows[:2] == [late.pk, waiting.pk] and done.pk in rows and len(rows) == 3
    assert re.search(rf'<tr class="overdue" data-testid="report-{late.pk}"', html)
    assert late.verify_by.isoformat() in html
    counts = {c["status"]: c["count"] for c in response.context["status_counts"]}
    assert counts["submitted"] == 1 and counts["verifying"] == 1 and counts["rewarded"] == 1
    assert reverse("report-policy") in html and reverse("report-export") in html
    filtered = client.get(reverse("report-list"), {"overdue": "true"})
    assert [r.pk for r in filtered.context["rows"]] == [late.pk]
    filtered = client.get(reverse("report-list"), {"status": "unverified"})
    assert {r.pk for r in filtered.context["rows"]} == {late.pk, waiting.pk}
    filtered = client.get(reverse("report-list"), {"status": "rewarded", "category": "unsafe_act"})
    assert list(filtered.context["rows"]) == []
    bad = client.get(reverse("report-list"), {"submitted_from": "not a date"})
    assert bad.status_code == 200 and list(bad.context["rows"]) == []


def test_bureau_list_filters_by_county_and_complaint(client: Any, world: World) -> None:
    a = overdue(report_at(world)[0])
    b, _code = report_at(world, unit=world.unit_b)
    complaint, code = report_at(world)
    overdue(complaint)
    rs.report_escalate(receipt=code, note="没人处理")
    as_user(client, world.city)
    response = client.get(reverse("report-list"))
    assert {r.pk for r in response.context["rows"]} == {a.pk, b.pk, complaint.pk}
    assert 'name="jurisdiction"' in body(response)
    only_b = client.get(reverse("report-list"), {"jurisdiction": world.unit_b.jurisdiction_id})
    assert [r.pk for r in only_b.context["rows"]] == [b.pk]
    open_ = client.get(reverse("report-list"), {"complaint": "open"})
    assert [r.pk for r in open_.context["rows"]] == [complaint.pk]
    assert 'data-testid="complaint"' in body(open_)
    as_user(client, world.county_b)
    response = client.get(reverse("report-list"))
    assert [r.pk for r in response.context["rows"]] == [b.pk]
    assert 'name="jurisdiction"' not in body(response)


@pytest.mark.parametrize("who", ["unit_a_officer", "county_a", "city"])
def test_list_query_count_is_constant(client: Any, world: World, who: str) -> None:
    as_user(client, getattr(world, who))
    site = SiteFactory.create(enterprise=world.unit_a)

    def measure(count: int) -> int:
        for i in range(count):
            report_at(world, ("submitted", "verifying", "rewarded")[i % 3], site=site)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("report-list"))
        assert response.status_code == 200
        return len(queries)

    few = measure(3)
    assert measure(9) == few
    assert few <= 10


# --- a report and its steps -----------------------------------------------------------------------
def test_detail_query_count_is_constant(
    client: Any, world: World, django_assert_max_num_queries: Any
) -> None:
    as_user(client, world.unit_a_officer)
    small, _code = report_at(world, "verifying", photos=1)
    large, _code = report_at(world, "rewarded", photos=4, named=True, consent=True)
    for report in (small, large):
        report.refresh_from_db()
    with CaptureQueriesContext(connection) as first:
        body(client.get(detail_url(small)))
    with CaptureQueriesContext(connection) as second:
        body(client.get(detail_url(large)))
    # The named report asks once whether its identity may be shown; nothing grows with photos,
    # steps or duplicates.
    assert len(second) <= len(first) + 1
    with django_assert_max_num_queries(20):
        client.get(detail_url(large))


def test_timeline_says_reporter_never_a_name(client: Any, world: World) -> None:
    report, code = report_at(world, "verifying", named=True)
    overdue(report)
    rs.report_escalate(receipt=code, note="没人处理")
    as_user(client, world.unit_a_officer)
    response = client.get(detail_url(report))
    html = body(response)
    timeline = response.context["timeline"]
    whos = {e["event"].action: e["who"] for e in timeline}
    assert whos["submitted"] == "Reporter" and whos["escalated"] == "Reporter"
    assert whos["start"] == str(world.unit_a_officer)
    assert REPORTER_NAME not in html and REPORTER_PHONE not in html
    assert 'data-testid="escalation"' in html and "没人处理" in html


def test_steps_from_start_to_reward(client: Any, world: World) -> None:
    site = SiteFactory.create(enterprise=world.unit_a)
    person = PersonFactory.create(enterprise=world.unit_a)
    report, _code = report_at(world, photos=1)
    as_user(client, world.unit_a_officer)
    response = client.get(detail_url(report))
    assert [s["name"] for s in response.context["steps"]] == ["start"]
    response = client.post(action_url(report, "start"))
    assert response.status_code == 302 and "Verification started." in texts(response)
    response = client.get(detail_url(report))
    assert [s["name"] for s in response.context["steps"]] == ["confirm", "duplicate", "reject"]
    html = body(response)
    assert 'type="date"' in html and f'value="{person.pk}"' in html
    # Bad input goes back onto the form: never a 500, nothing written.
    response = client.post(action_url(report, "confirm"), {"confirm-level": "general"})
    assert response.status_code == 200
    assert "Choose a hazard category." in body(response)
    assert InternalReport.objects.get(pk=report.pk).status == "verifying"
    deadline = TODAY + timedelta(days=10)
    response = client.post(
        action_url(report, "confirm"),
        {
            "confirm-level": "general",
            "confirm-hazard_category": "equipment",
            "confirm-reply": "已核实",
            "confirm-deadline": deadline.isoformat(),
            "confirm-site": site.pk,
            "confirm-responsible_person": person.pk,
        },
    )
    assert response.status_code == 302, body(response)
    report.refresh_from_db()
    assert report.status == "confirmed" and report.hazard is not None
    hazard: Hazard = report.hazard
    assert hazard.deadline == deadline and hazard.responsible_person == person
    assert hazard.site == site
    response = client.get(detail_url(report))
    html = body(response)
    assert reverse("hazard-detail", args=[hazard.pk]) in html
    assert [s["name"] for s in response.context["steps"]] == ["reward"]
    assert 'name="reward-amount" value="200.00"' in html  # the policy's proposal
    response = client.post(
        action_url(report, "reward"), {"reward-amount": "99999", "reward-paid_on": TODAY}
    )
    assert "at most" in body(response)
    response = client.post(
        action_url(report, "reward"),
        {"reward-amount": "150", "reward-paid_on": TODAY.isoformat(), "reward-reference": "现金"},
    )
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == "rewarded" and report.reward_amount == Decimal("150")
    # Rewarding twice: a message, not a second payment.
    response = client.post(
        action_url(report, "reward"), {"reward-amount": "150", "reward-paid_on": TODAY.isoformat()}
    )
    assert response.status_code == 302
    assert texts(response)
    assert report.events.filter(action="reward").count() == 1
    # The hazard page links back to the report.
    html = body(client.get(reverse("hazard-detail", args=[hazard.pk])))
    assert f"From internal report {report.reference}" in html and detail_url(report) in html


def test_reject_needs_a_reason_and_escapes_it(client: Any, world: World) -> None:
    report, _code = report_at(world, "verifying")
    as_user(client, world.unit_a_officer)
    response = client.post(action_url(report, "reject"), {"reject-reason": ""})
    assert response.status_code == 200 and "This field is required." in body(response)
    response = client.post(action_url(report, "reject"), {"reject-reason": SCRIPT})
    assert response.status_code == 302
    html = body(client.get(detail_url(report)))
    assert SCRIPT not in html and ESCAPED in html


def test_duplicate_links_the_earlier_report(client: Any, world: World) -> None:
    earlier, _code = report_at(world, "verifying")
    report, _code = report_at(world, "verifying")
    other_unit, _code = report_at(world, unit=world.unit_b)
    as_user(client, world.unit_a_officer)
    html = body(client.get(detail_url(report)))
    assert f'value="{earlier.pk}"' in html and f'value="{other_unit.pk}"' not in html
    response = client.post(action_url(report, "duplicate"), {"duplicate-duplicate_of": ""})
    assert response.status_code == 200 and "Choose the earlier report." in body(response)
    response = client.post(
        action_url(report, "duplicate"), {"duplicate-duplicate_of": other_unit.pk}
    )
    assert "Select a valid choice" in body(response)
    response = client.post(action_url(report, "duplicate"), {"duplicate-duplicate_of": earlier.pk})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == "duplicate" and report.duplicate_of == earlier
    assert detail_url(earlier) in body(client.get(detail_url(report)))
    assert detail_url(report) in body(client.get(detail_url(earlier)))


def test_step_not_allowed_now_is_a_message(client: Any, world: World) -> None:
    report, _code = report_at(world)
    as_user(client, world.unit_a_officer)
    response = client.post(action_url(report, "reject"), {"reject-reason": "x"})
    assert response.status_code == 302
    assert any("does not allow" in t for t in texts(response))
    assert client.post(action_url(report, "explode")).status_code == 404
    assert client.get(action_url(report, "start")).status_code == 405


def test_county_answers_the_complaint(client: Any, world: World) -> None:
    report, code = report_at(world)
    overdue(report)
    rs.report_escalate(receipt=code, note="没人处理")
    as_user(client, world.unit_a_officer)
    assert "complaint" not in [s["name"] for s in client.get(detail_url(report)).context["steps"]]
    as_user(client, world.county_a)
    response = client.get(detail_url(report))
    assert [s["name"] for s in response.context["steps"]] == ["complaint"]
    response = client.post(action_url(report, "complaint"), {"complaint-reply": ""})
    assert "This field is required." in body(response)
    response = client.post(action_url(report, "complaint"), {"complaint-reply": SCRIPT})
    assert response.status_code == 302
    report.refresh_from_db()
    assert not report.complaint_open
    html = body(client.get(detail_url(report)))
    assert ESCAPED in html and SCRIPT not in html
    assert client.get(detail_url(report)).context["steps"] == []


# --- the reporter's identity ----------------------------------------------------------------------
def unit_pages(client: Any, report: InternalReport) -> list[str]:
    return [
        body(client.get(reverse("report-list"))),
        body(client.get(detail_url(report))),
        body(client.get(reverse("report-policy"))),
        body(client.get(reverse("home"))),
    ]


@pytest.mark.parametrize("who", ["unit_a_officer", "unit_a_principal"])
def test_identity_never_on_the_unit_side_without_consent(
    client: Any, world: World, who: str
) -> None:
    report, _code = report_at(world, "confirmed", named=True)
    as_user(client, getattr(world, who))
    for html in unit_pages(client, report):
        assert REPORTER_NAME not in html and REPORTER_PHONE not in html
    response = client.get(detail_url(report))
    assert not response.context["may_reveal"]
    assert 'data-testid="reveal"' not in body(response)
    response = client.post(reverse("report-reporter", args=[report.pk]))
    assert response.status_code == 403
    assert REPORTER_NAME not in response.content.decode()
    assert not AuditEntry.objects.filter(action="view").exists()


def test_account_reporter_name_stays_off_the_unit_pages(client: Any, world: World) -> None:
    as_user(client, world.unit_a_employee)
    client.post(reverse("report-create"), {**fields(), "anonymous": ""})
    report = InternalReport.objects.get()
    assert not report.anonymous
    as_user(client, world.unit_a_officer)
    for html in unit_pages(client, report):
        assert world.unit_a_employee.full_name not in html


def test_unit_sees_identity_with_consent_by_the_button_only(client: Any, world: World) -> None:
    report, _code = report_at(world, named=True, consent=True)
    as_user(client, world.unit_a_officer)
    html = body(client.get(detail_url(report)))
    assert 'data-testid="reveal"' in html and REPORTER_NAME not in html
    response = client.post(reverse("report-reporter", args=[report.pk]))
    html = body(response)
    assert REPORTER_NAME in html and REPORTER_PHONE in html
    assert "no-store" in response["Cache-Control"]
    assert AuditEntry.objects.filter(
        action="view", object_type="reporting.reporteridentity", actor_id=world.unit_a_officer.pk
    ).exists()
    # On that response only.
    assert REPORTER_NAME not in body(client.get(detail_url(report)))


def test_regulator_needs_the_permission_to_see_who_reported(client: Any, world: World) -> None:
    report, _code = report_at(world, named=True)
    as_user(client, world.county_a)
    html = body(client.get(detail_url(report)))
    assert 'data-testid="reveal"' not in html and REPORTER_NAME not in html
    assert client.post(reverse("report-reporter", args=[report.pk])).status_code == 403
    officer = with_identity_permission(world.county_a)
    as_user(client, officer)
    assert 'data-testid="reveal"' in body(client.get(detail_url(report)))
    html = body(client.post(reverse("report-reporter", args=[report.pk])))
    assert REPORTER_NAME in html and REPORTER_PHONE in html
    assert AuditEntry.objects.filter(action="view", actor_id=officer.pk).count() == 1
    # Another county's officer with the permission still sees nothing of county A.
    as_user(client, with_identity_permission(world.county_b))
    assert client.post(reverse("report-reporter", args=[report.pk])).status_code == 404


def test_anonymous_report_has_no_reveal_button(client: Any, world: World) -> None:
    report, _code = report_at(world)
    as_user(client, with_identity_permission(world.county_a))
    assert 'data-testid="reveal"' not in body(client.get(detail_url(report)))
    assert client.post(reverse("report-reporter", args=[report.pk])).status_code == 403


def test_script_in_the_description_is_escaped_everywhere(client: Any, world: World) -> None:
    as_user(client, world.unit_a_employee)
    client.post(reverse("report-create"), {**fields(description=SCRIPT), "anonymous": ""})
    report = InternalReport.objects.get()
    pages = [body(client.get(reverse("report-mine")))]
    for who in ("unit_a_officer", "county_a"):
        as_user(client, getattr(world, who))
        pages.append(body(client.get(reverse("report-list"))))
        pages.append(body(client.get(detail_url(report))))
    for html in pages:
        assert SCRIPT not in html and ESCAPED in html


# --- policy ---------------------------------------------------------------------------------------
def test_managers_edit_the_policy(client: Any, world: World) -> None:
    as_user(client, world.unit_a_officer)
    channel = rs.channel_for(world.unit_a)
    html = body(client.get(reverse("report-policy")))
    assert reverse("report-public", args=[channel.token]) in html
    assert reverse("report-poster") in html and reverse("report-export") in html
    data = {
        "action": "save",
        "is_open": "on",
        "reward_general": "300",
        "reward_major": "20000",
        "reward_cap": "10000",
        "verify_within": "5",
        "verify_in_working_days": "on",
        "payout_instructions": SCRIPT,
    }
    response = client.post(reverse("report-policy"), data)
    assert response.status_code == 200
    assert "cannot exceed the most paid" in body(response)
    channel.refresh_from_db()
    assert channel.reward_general == Decimal("200")
    response = client.post(reverse("report-policy"), {**data, "reward_major": "5000"})
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.reward_general == Decimal("300") and channel.payout_instructions == SCRIPT
    assert ESCAPED in body(client.get(reverse("report-policy")))
    # The public page shows the new policy, escaped.
    html = body(client.get(reverse("report-public", args=[channel.token])))
    assert "300 yuan" in html and ESCAPED in html and SCRIPT not in html


def test_rotating_the_code_needs_a_confirmation(client: Any, world: World) -> None:
    as_user(client, world.unit_a_principal)
    old = rs.channel_for(world.unit_a).token
    response = client.post(reverse("report-policy"), {"action": "rotate"})
    assert response.status_code == 200 and "Tick the box to confirm." in body(response)
    assert rs.channel_for(world.unit_a).token == old
    response = client.post(reverse("report-policy"), {"action": "rotate", "confirm": "on"})
    assert response.status_code == 302
    new = rs.channel_for(world.unit_a).token
    assert new != old
    assert client.get(reverse("report-public", args=[old])).status_code == 404
    assert client.get(reverse("report-public", args=[new])).status_code == 200


def test_employees_read_the_policy(client: Any, world: World) -> None:
    as_user(client, world.unit_a_employee)
    response = client.get(reverse("report-policy"))
    html = body(response)
    assert response.context["form"] is None and 'data-testid="policy-summary"' in html
    assert 'data-testid="policy-form"' not in html and reverse("report-poster") not in html
    token = rs.channel_for(world.unit_a).token
    assert (
        client.post(reverse("report-policy"), {"action": "rotate", "confirm": "on"}).status_code
        == 403
    )
    assert rs.channel_for(world.unit_a).token == token


# --- oversight ------------------------------------------------------------------------------------
def test_oversight_per_county_and_unit(client: Any, world: World) -> None:
    overdue(report_at(world)[0])
    report_at(world, "rewarded")
    report_at(world, "rejected")
    report_at(world, unit=world.unit_b)
    as_user(client, world.city)
    response = client.get(reverse("report-oversight"))
    html = body(response)
    units = {row.key: (row, links) for row, links in response.context["units"]}
    a, links = units[str(world.unit_a.pk)]
    assert (a.received, a.confirmed, a.rewarded, a.overdue) == (3, 1, 1, 1)
    assert a.reward_total == Decimal("200")
    counties = {row.key for row, _links in response.context["counties"]}
    assert counties == {world.unit_a.jurisdiction_id, world.unit_b.jurisdiction_id}
    year_start = TODAY.replace(month=1, day=1).isoformat()
    assert f"enterprise={world.unit_a.pk}" in html and f"submitted_from={year_start}" in html
    # A figure's link lists the reports it counts.
    listed = client.get(links["overdue"])
    assert len(listed.context["rows"]) == 1
    listed = client.get(links["rewarded"])
    assert [r.status for r in listed.context["rows"]] == ["rewarded"]
    # Another period: nothing.
    empty = client.get(reverse("report-oversight"), {"start": "2001-01-01", "end": "2001-12-31"})
    assert empty.context["units"] == []
    bad = client.get(reverse("report-oversight"), {"start": "2025-05-01", "end": "2025-01-01"})
    assert bad.status_code == 200 and "before its start" in body(bad)
    as_user(client, world.county_b)
    units = client.get(reverse("report-oversight")).context["units"]
    assert [row.key for row, _links in units] == [str(world.unit_b.pk)]


@pytest.mark.parametrize("who", ["unit_a_officer", "unit_a_employee", "partner_user"])
def test_oversight_is_for_bureaus(client: Any, world: World, who: str) -> None:
    as_user(client, getattr(world, who))
    assert client.get(reverse("report-oversight")).status_code == 403


# --- home and menu --------------------------------------------------------------------------------
def home_tiles(client: Any, user: User) -> dict[str, int]:
    as_user(client, user)
    response = client.get(reverse("home"))
    return {t.label: t.count for t in response.context["summary"]}


def test_home_tiles(client: Any, world: World) -> None:
    overdue(report_at(world)[0])
    report_at(world, "verifying")
    report_at(world, "rewarded")
    complaint, code = report_at(world, unit=world.unit_b)
    overdue(complaint)
    rs.report_escalate(receipt=code)
    tiles = home_tiles(client, world.unit_a_officer)
    assert tiles["Reports waiting for verification"] == 2
    assert tiles["Reports past the time limit"] == 1
    tiles = home_tiles(client, world.county_a)
    assert tiles["Internal reports unverified past the limit"] == 1
    assert tiles["Complaints raised by reporters"] == 0
    tiles = home_tiles(client, world.county_b)
    assert tiles["Internal reports unverified past the limit"] == 1
    assert tiles["Complaints raised by reporters"] == 1
    html = body(client.get(reverse("home")))
    assert f'href="{reverse("report-list")}?complaint=open"' in html
    tiles = home_tiles(client, world.unit_a_employee)
    assert "Reports waiting for verification" not in tiles
    html = body(client.get(reverse("home")))
    assert 'data-testid="report-hazard"' in html and reverse("report-mine") in html
    assert "Internal reports unverified past the limit" not in home_tiles(
        client, world.partner_user
    )


def test_menu_links_follow_the_role(client: Any, world: World) -> None:
    as_user(client, world.unit_a_officer)
    html = body(client.get(reverse("home")))
    assert f'<a href="{reverse("report-list")}">' in html
    as_user(client, world.unit_a_employee)
    html = body(client.get(reverse("home")))
    assert f'<a href="{reverse("report-mine")}">' in html
    assert f'<a href="{reverse("report-list")}">' not in html
    as_user(client, world.county_a)
    html = body(client.get(reverse("home")))
    assert reverse("report-oversight") in html and 'data-testid="report-hazard"' not in html
    as_user(client, world.partner_user)
    html = body(client.get(reverse("home")))
    assert reverse("report-list") not in html


def test_oversight_needs_sign_in_and_lists_urgent_units_first(client: Any, world: World) -> None:
    url = reverse("report-oversight")
    response = client.get(url)
    assert response.status_code == 302 and reverse("login") in response["Location"]
    report_at(world)
    late, _code = report_at(world, unit=world.unit_b)
    InternalReport.objects.filter(pk=late.pk).update(
        verify_by=timezone.localdate() - timedelta(days=1)
    )
    as_user(client, world.city)
    units = [row for row, _links in client.get(url).context["units"]]
    assert [row.key for row in units] == [str(world.unit_b.pk), str(world.unit_a.pk)]
    assert units[0].overdue == 1
