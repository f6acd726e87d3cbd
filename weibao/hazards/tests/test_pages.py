"""The hazard pages: list and filters, a hazard with its timeline and step forms, recording a
hazard, files, the acceptance record, the statistics, and the menu."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from weibao.hazards import services
from weibao.hazards.choices import HazardLevel
from weibao.hazards.models import Hazard, HazardAttachment, HazardEvent, HazardStatus
from weibao.tests.factories import (
    EnterpriseFactory,
    HazardFactory,
    SiteFactory,
    World,
    make_checklist,
)

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
TODAY = timezone.localdate()


@pytest.fixture(autouse=True)
def _today() -> None:
    """Today as of each test, not as of the import: a run crossing midnight (Asia/Shanghai)
    would otherwise build yesterday's deadlines against today's pages."""
    global TODAY
    TODAY = timezone.localdate()


NEEDS_ELEMENT = "A major hazard needs a treatment plan with this element before work starts."


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def client(client: Any) -> Any:
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def checklist(db: None) -> Any:
    """The current checklist a follow-up inspection of unit A is drawn up with."""
    return make_checklist()


def photo(name: str = "door.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def hazard_a(world: World, **kwargs: Any) -> Hazard:
    hazard: Hazard = HazardFactory.create(enterprise=world.unit_a, **kwargs)
    HazardEvent.objects.create(hazard=hazard, action=HazardEvent.Action.CREATED, to_status="open")
    return hazard


def awaiting(world: World, **kwargs: Any) -> Hazard:
    hazard = hazard_a(world, **kwargs)
    services.hazard_submit_rectification(actor=world.unit_a_officer, hazard=hazard, note="已整改")
    hazard.refresh_from_db()
    return hazard


def step_url(hazard: Hazard, action: str) -> str:
    return reverse("hazard-action", args=[hazard.pk, action])


def detail(client: Any, hazard: Hazard) -> str:
    response = client.get(reverse("hazard-detail", args=[hazard.pk]))
    assert response.status_code == 200
    return str(response.content.decode())


def texts(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def steps_shown(client: Any, hazard: Hazard) -> set[str]:
    response = client.get(reverse("hazard-detail", args=[hazard.pk]))
    return {s["name"] for s in response.context["steps"]}


# --- access ---------------------------------------------------------------------------------------
def test_anonymous_is_sent_to_sign_in(client: Any, world: World) -> None:
    hazard = hazard_a(world)
    urls = [
        reverse("hazard-list"),
        reverse("hazard-create"),
        reverse("hazard-statistics"),
        reverse("hazard-detail", args=[hazard.pk]),
        reverse("hazard-file", args=[hazard.pk, 1]),
        reverse("hazard-acceptance-record", args=[hazard.pk]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    response = client.post(step_url(hazard, "accept"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    "who", ["city", "county_a", "unit_a_principal", "unit_a_officer", "unit_a_employee", "admin"]
)
def test_pages_open_for_the_right_people(client: Any, world: World, who: str) -> None:
    hazard = hazard_a(world)
    client.force_login(getattr(world, who))
    assert client.get(reverse("hazard-list")).status_code == 200
    assert client.get(reverse("hazard-detail", args=[hazard.pk])).status_code == 200
    assert client.get(reverse("hazard-statistics")).status_code == 200


@pytest.mark.parametrize("who", ["city", "county_a", "unit_a_officer", "unit_a_principal"])
def test_new_hazard_page_for_regulators_and_unit_managers(
    client: Any, world: World, who: str
) -> None:
    client.force_login(getattr(world, who))
    assert client.get(reverse("hazard-create")).status_code == 200
    assert 'data-testid="new-hazard"' in client.get(reverse("hazard-list")).content.decode()


@pytest.mark.parametrize("who", ["unit_a_employee", "partner_user"])
def test_new_hazard_page_refused_to_others(client: Any, world: World, who: str) -> None:
    client.force_login(getattr(world, who))
    assert client.get(reverse("hazard-create")).status_code == 403
    assert 'data-testid="new-hazard"' not in client.get(reverse("hazard-list")).content.decode()


@pytest.mark.parametrize("who", ["county_b", "unit_b_officer"])
def test_other_county_or_unit_gets_404(client: Any, world: World, who: str) -> None:
    hazard = awaiting(world)
    services.hazard_accept(actor=world.county_a, hazard=hazard, files=[photo()])
    attachment = HazardAttachment.objects.get(hazard=hazard)
    client.force_login(getattr(world, who))
    assert client.get(reverse("hazard-detail", args=[hazard.pk])).status_code == 404
    assert client.get(reverse("hazard-file", args=[hazard.pk, attachment.pk])).status_code == 404
    record = client.get(reverse("hazard-acceptance-record", args=[hazard.pk]))
    assert record.status_code == 404
    other = hazard_a(world)
    assert client.post(step_url(other, "cancel"), {"cancel-reason": "x"}).status_code == 404
    other.refresh_from_db()
    assert other.status == HazardStatus.OPEN
    body = client.get(reverse("hazard-list")).content.decode()
    assert hazard.reference not in body and other.reference not in body


def test_file_of_another_hazard_is_404(client: Any, world: World) -> None:
    hazard = awaiting(world)
    services.hazard_accept(actor=world.county_a, hazard=hazard, files=[photo()])
    attachment = HazardAttachment.objects.get(hazard=hazard)
    other = hazard_a(world)
    client.force_login(world.county_a)
    assert client.get(reverse("hazard-file", args=[other.pk, attachment.pk])).status_code == 404


# --- list -----------------------------------------------------------------------------------------
def test_list_shows_cards_with_level_deadline_and_status(client: Any, world: World) -> None:
    late = hazard_a(world, level=HazardLevel.MAJOR, deadline=TODAY - timedelta(days=4))
    client.force_login(world.county_a)
    body = client.get(reverse("hazard-list")).content.decode()
    assert late.reference in body and world.unit_a.name in body
    assert 'class="badge major"' in body
    assert "4 days overdue" in body
    assert late.get_status_display() in body
    assert 'href="/api/v1/hazards/export/"' in body


def test_list_honours_the_home_tiles(client: Any, world: World) -> None:
    late = hazard_a(world, deadline=TODAY - timedelta(days=2))
    soon = hazard_a(world, deadline=TODAY + timedelta(days=2))
    later = hazard_a(world, deadline=TODAY + timedelta(days=20))
    handed_in = awaiting(world)
    client.force_login(world.county_a)

    def shown(query: str) -> set[int]:
        response = client.get(f"{reverse('hazard-list')}?{query}")
        assert response.status_code == 200
        return {h.pk for h, _ in response.context["rows"]}

    assert shown("overdue=true") == {late.pk}
    assert shown("status=awaiting_acceptance") == {handed_in.pk}
    assert shown("to_accept=true") == {handed_in.pk}
    assert shown("due_within=3") == {late.pk, soon.pk}
    assert shown("due_within=3&overdue=false") == {soon.pk}
    assert shown("") == {late.pk, soon.pk, later.pk, handed_in.pk}
    # The unit's own general hazard handed in is the unit's to accept, not the bureau's.
    own = awaiting(world)
    Hazard.objects.filter(pk=own.pk).update(source="self_inspection")
    assert shown("to_accept=true") == {handed_in.pk}
    client.force_login(world.unit_a_officer)
    assert shown("to_accept=true") == {own.pk}


def test_list_filters_and_search(client: Any, world: World) -> None:
    b = HazardFactory.create(enterprise=world.unit_b, description="烟花仓库消防栓损坏")
    a = hazard_a(world, level=HazardLevel.MAJOR, found_on=TODAY - timedelta(days=40))
    client.force_login(world.city)

    def shown(params: dict[str, Any]) -> set[int]:
        return {h.pk for h, _ in client.get(reverse("hazard-list"), params).context["rows"]}

    assert shown({"jurisdiction": "430406"}) == {b.pk}
    assert shown({"enterprise": world.unit_a.pk}) == {a.pk}
    assert shown({"level": "major"}) == {a.pk}
    assert shown({"search": "消防栓"}) == {b.pk}
    assert shown({"search": world.unit_a.uscc}) == {a.pk}
    assert shown({"found_on_after": (TODAY - timedelta(days=10)).isoformat()}) == {b.pk}
    assert shown({"source": "self_inspection"}) == set()
    response = client.get(reverse("hazard-list"), {"due_within": "-1"})
    assert response.context["form"].errors and not response.context["rows"]
    export = 'href="/api/v1/hazards/export/?level=major"'
    assert export in client.get(reverse("hazard-list"), {"level": "major"}).content.decode()


def test_county_officer_and_unit_see_no_county_field(client: Any, world: World) -> None:
    client.force_login(world.county_a)
    form = client.get(reverse("hazard-list")).context["form"]
    assert "jurisdiction" not in form.fields and "enterprise" in form.fields
    client.force_login(world.unit_a_officer)
    form = client.get(reverse("hazard-list")).context["form"]
    assert "jurisdiction" not in form.fields and "enterprise" not in form.fields
    client.force_login(world.city)
    assert "jurisdiction" in client.get(reverse("hazard-list")).context["form"].fields


def test_list_paginates_and_keeps_the_filters(client: Any, world: World) -> None:
    for _ in range(51):
        HazardFactory.create(enterprise=world.unit_a)
    client.force_login(world.county_a)
    response = client.get(reverse("hazard-list"), {"level": "general"})
    assert len(response.context["rows"]) == 50
    assert "?level=general&amp;page=2" in response.content.decode()
    second = client.get(reverse("hazard-list"), {"level": "general", "page": 2})
    assert len(second.context["rows"]) == 1


def test_list_query_count_is_constant(client: Any, world: World) -> None:
    client.force_login(world.city)

    def measure() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("hazard-list")).status_code == 200
        return len(queries)

    for _ in range(3):
        HazardFactory.create(enterprise=world.unit_a)
    few = measure()
    for i in range(27):
        HazardFactory.create(
            enterprise=EnterpriseFactory.create(), level=("general", "major")[i % 2]
        )
    assert measure() == few <= 12


# --- a hazard -------------------------------------------------------------------------------------
def test_hazard_page_shows_fields_timeline_and_inspection_link(client: Any, world: World) -> None:
    hazard = hazard_a(world, site=SiteFactory.create(enterprise=world.unit_a))
    services.hazard_extend(
        actor=world.county_a,
        hazard=hazard,
        reason="等待配件到货",
        deadline=hazard.deadline + timedelta(days=7),
    )
    client.force_login(world.county_a)
    body = detail(client, hazard)
    assert hazard.description in body and hazard.site.name in body  # type: ignore[union-attr]
    assert "Deadline extended" in body and "等待配件到货" in body
    old, new = hazard.deadline, hazard.deadline + timedelta(days=7)
    assert f"Deadline {old:%Y-%m-%d} → {new:%Y-%m-%d}" in body
    assert "extended once" in body


def test_full_life_cycle_through_the_pages(client: Any, world: World) -> None:
    hazard = hazard_a(world)
    client.force_login(world.unit_a_officer)
    assert {"start", "submit-rectification"} <= steps_shown(client, hazard)

    response = client.post(step_url(hazard, "start"))
    assert response.status_code == 302 and texts(response) == ["Rectification started."]
    hazard.refresh_from_db()
    assert hazard.status == HazardStatus.RECTIFYING

    response = client.post(
        step_url(hazard, "submit-rectification"),
        {"submit-rectification-note": "已更换防盗门锁", "submit-rectification-uploads": [photo()]},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    hazard.refresh_from_db()
    assert hazard.status == HazardStatus.AWAITING_ACCEPTANCE
    attachment = hazard.attachments.get()
    assert attachment.kind == HazardAttachment.Kind.PHOTO
    body = detail(client, hazard)
    file_url = reverse("hazard-file", args=[hazard.pk, attachment.pk])
    assert f'<img src="{file_url}"' in body and "/media/" not in body
    served = client.get(file_url)
    assert served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content).startswith(b"\x89PNG")

    client.force_login(world.county_a)
    assert {"accept", "reject"} <= steps_shown(client, hazard)
    response = client.post(step_url(hazard, "accept"), {"accept-opinion": "整改到位"})
    assert response.status_code == 302 and texts(response) == ["Accepted and closed."]
    hazard.refresh_from_db()
    assert hazard.status == HazardStatus.CLOSED and hazard.accepted_by == world.county_a
    body = detail(client, hazard)
    assert reverse("hazard-acceptance-record", args=[hazard.pk]) in body
    actions = list(hazard.events.values_list("action", flat=True))
    assert actions == ["created", "start", "submit_rectification", "accept"]
    for label in ("Rectification started", "Rectification handed in", "Accepted and closed"):
        assert label in body
    assert "整改到位" in body and str(world.unit_a_officer) in body


def test_acceptance_record_is_a_pdf_once_closed(client: Any, world: World) -> None:
    hazard = awaiting(world)
    client.force_login(world.county_a)
    url = reverse("hazard-acceptance-record", args=[hazard.pk])
    response = client.get(url)  # not closed yet: back to the page with the reason
    assert response.status_code == 302 and "closed" in texts(response)[0]
    services.hazard_accept(actor=world.county_a, hazard=hazard)
    response = client.get(url)
    if response.status_code == 302:  # no PDF engine on this machine: the reason is shown
        pytest.skip(texts(response)[0])
    assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF")


def test_unit_may_not_accept_a_regulator_found_hazard(client: Any, world: World) -> None:
    hazard = awaiting(world)
    events = hazard.events.count()
    client.force_login(world.unit_a_officer)
    assert "accept" not in steps_shown(client, hazard)
    response = client.post(step_url(hazard, "accept"), {"accept-opinion": "ok"}, follow=True)
    assert response.status_code == 200
    assert "decided by the supervising bureau" in response.content.decode()
    messages = [(m.level_tag, str(m)) for m in response.context["messages"]]
    assert messages and messages[0][0] == "error"
    hazard.refresh_from_db()
    assert hazard.status == HazardStatus.AWAITING_ACCEPTANCE and hazard.accepted_by is None
    assert hazard.events.count() == events


def test_major_hazard_start_without_plan_names_the_missing_elements(
    client: Any, world: World
) -> None:
    hazard = hazard_a(world, level=HazardLevel.MAJOR)
    client.force_login(world.unit_a_officer)
    response = client.post(step_url(hazard, "start"), {"start-objective": ""})
    assert response.status_code == 200
    form = next(s["form"] for s in response.context["steps"] if s["name"] == "start")
    assert set(form.errors) == {
        "measures",
        "funds",
        "deadline",
        "responsible_person",
        "emergency_measures",
    }
    assert response.content.decode().count(NEEDS_ELEMENT) == 5
    hazard.refresh_from_db()
    assert hazard.status == HazardStatus.OPEN and not hasattr(hazard, "plan")
    assert hazard.events.count() == 1

    # Half a plan: the elements still missing are named, nothing is saved.
    response = client.post(step_url(hazard, "start"), {"start-measures": "更换防盗门"})
    form = next(s["form"] for s in response.context["steps"] if s["name"] == "start")
    assert "measures" not in form.errors and "funds" in form.errors
    hazard.refresh_from_db()
    assert hazard.status == HazardStatus.OPEN and not hasattr(hazard, "plan")

    plan = {
        "start-measures": "更换防盗门",
        "start-funds": "12000",
        "start-deadline": (TODAY + timedelta(days=20)).isoformat(),
        "start-responsible_person": "安全科 王五",
        "start-emergency_measures": "整改期间库房停用",
    }
    response = client.post(step_url(hazard, "start"), plan)
    assert response.status_code == 302
    hazard.refresh_from_db()
    assert hazard.status == HazardStatus.RECTIFYING and hazard.has_complete_plan()
    assert "更换防盗门" in detail(client, hazard)


def test_service_field_errors_go_on_the_form(client: Any, world: World) -> None:
    hazard = hazard_a(world)
    client.force_login(world.county_a)
    response = client.post(step_url(hazard, "extend"), {"extend-reason": "配件"})
    assert response.status_code == 200
    form = next(s["form"] for s in response.context["steps"] if s["name"] == "extend")
    assert "deadline" in form.errors
    assert next(s for s in response.context["steps"] if s["name"] == "extend")["open"]
    response = client.post(step_url(hazard, "cancel"), {"cancel-reason": " "})
    form = next(s["form"] for s in response.context["steps"] if s["name"] == "cancel")
    assert "reason" in form.errors
    hazard.refresh_from_db()
    assert hazard.status == HazardStatus.OPEN and hazard.extension_count == 0


def test_a_bad_file_rejects_the_whole_step(client: Any, world: World) -> None:
    hazard = hazard_a(world)
    client.force_login(world.unit_a_officer)
    bad = SimpleUploadedFile("x.png", b"GIF89a" + b"\x00" * 20, content_type="image/png")
    response = client.post(
        step_url(hazard, "submit-rectification"),
        {"submit-rectification-note": "done", "submit-rectification-uploads": [photo(), bad]},
    )
    assert response.status_code == 200
    form = next(s["form"] for s in response.context["steps"] if s["name"] == "submit-rectification")
    assert "uploads" in form.errors
    hazard.refresh_from_db()
    assert hazard.status == HazardStatus.OPEN and not hazard.attachments.exists()


def test_a_step_the_status_does_not_allow_is_an_error_message(client: Any, world: World) -> None:
    hazard = hazard_a(world)
    client.force_login(world.county_a)
    response = client.post(step_url(hazard, "reject"), {"reject-reason": "不合格"})
    assert response.status_code == 302
    assert "does not allow" in texts(response)[0]
    client.force_login(world.unit_a_officer)  # bad input to a step not offered: a message
    response = client.post(step_url(hazard, "extend"), {"extend-deadline": "not a date"})
    assert response.status_code == 302 and "valid date" in texts(response)[-1]
    assert client.post(step_url(hazard, "unknown")).status_code == 404
    assert client.get(step_url(hazard, "reject")).status_code == 405


def test_page_hides_the_steps_the_user_may_not_take(client: Any, world: World) -> None:
    hazard = hazard_a(world)
    client.force_login(world.unit_a_officer)
    assert steps_shown(client, hazard) == {"start", "submit-rectification", "plan", "attachments"}
    client.force_login(world.unit_a_employee)
    assert steps_shown(client, hazard) == set()
    assert 'data-testid="steps"' not in detail(client, hazard)
    client.force_login(world.county_a)
    assert steps_shown(client, hazard) == {"extend", "cancel", "follow-up", "attachments"}
    body = detail(client, hazard)
    assert step_url(hazard, "start") not in body and step_url(hazard, "accept") not in body

    handed_in = awaiting(world)
    assert steps_shown(client, handed_in) == {"accept", "reject", "cancel", "follow-up"}
    client.force_login(world.unit_a_officer)
    assert steps_shown(client, handed_in) == set()

    # The unit's own general hazard: the unit accepts it, the bureau does not.
    own = awaiting(world, source=Hazard.Source.SELF_INSPECTION)
    assert {"accept", "reject", "cancel"} <= steps_shown(client, own)
    client.force_login(world.county_a)
    assert steps_shown(client, own) == {"follow-up"}

    # A second extension needs the city bureau.
    services.hazard_extend(
        actor=world.county_a, hazard=hazard, reason="r", deadline=hazard.deadline + timedelta(3)
    )
    assert "extend" not in steps_shown(client, hazard)
    client.force_login(world.city)
    assert "extend" in steps_shown(client, hazard)

    services.hazard_accept(actor=world.county_a, hazard=handed_in)
    assert steps_shown(client, handed_in) == set()


@pytest.mark.usefixtures("checklist")
def test_follow_up_is_one_click_to_the_inspection_form(client: Any, world: World) -> None:
    hazard = hazard_a(world, deadline=TODAY - timedelta(days=1))
    client.force_login(world.county_a)
    response = client.post(step_url(hazard, "follow-up"))
    assert response.status_code == 302
    inspection = hazard.events.get(action=HazardEvent.Action.FOLLOW_UP).data["inspection"]
    assert response["Location"] == reverse("inspection-edit", args=[inspection])
    assert reverse("inspection-detail", args=[inspection]) in detail(client, hazard)


@pytest.mark.usefixtures("checklist")
def test_hazard_from_an_inspection_links_to_it(client: Any, world: World) -> None:
    hazard = hazard_a(world)
    inspection = services.hazard_schedule_follow_up(actor=world.county_a, hazard=hazard)
    found = hazard_a(world, inspection=inspection)
    client.force_login(world.county_a)
    body = detail(client, found)
    assert f'href="{reverse("inspection-detail", args=[inspection.pk])}"' in body


def test_hazard_page_query_count_is_constant(client: Any, world: World) -> None:
    hazard = hazard_a(world, level=HazardLevel.MAJOR)
    client.force_login(world.county_a)

    def measure() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("hazard-detail", args=[hazard.pk])).status_code == 200
        return len(queries)

    for _ in range(2):
        services.hazard_attach(actor=world.county_a, hazard=hazard, files=[photo()])
    few = measure()
    for _ in range(27):
        services.hazard_attach(actor=world.unit_a_officer, hazard=hazard, files=[photo()])
    assert hazard.events.count() == 30
    assert measure() == few <= 15


# --- recording ------------------------------------------------------------------------------------
def test_regulator_records_a_hazard_for_a_unit_it_supervises(client: Any, world: World) -> None:
    site = SiteFactory.create(enterprise=world.unit_a)
    client.force_login(world.county_a)
    page = client.get(reverse("hazard-create"), {"enterprise": world.unit_a.pk})
    assert site.name in page.content.decode()
    data = {
        "enterprise": world.unit_a.pk,
        "source": "inspection",
        "level": "general",
        "category": "storage",
        "description": "灭火器过期",
        "site": site.pk,
        "found_on": TODAY.isoformat(),
        "photos": [photo()],
    }
    response = client.post(reverse("hazard-create"), data)
    assert response.status_code == 302
    hazard = Hazard.objects.get(description="灭火器过期")
    assert response["Location"] == reverse("hazard-detail", args=[hazard.pk])
    assert hazard.site == site and hazard.created_by == world.county_a
    assert hazard.attachments.count() == 1 and hazard.deadline > TODAY

    # A unit of another county is not offered; the unit's own sources are refused.
    response = client.post(reverse("hazard-create"), {**data, "enterprise": world.unit_b.pk})
    assert response.status_code == 200 and "enterprise" in response.context["form"].errors
    response = client.post(reverse("hazard-create"), {**data, "source": "self_inspection"})
    assert "source" in response.context["form"].errors


def test_unit_records_its_own_self_inspection_finding(client: Any, world: World) -> None:
    site = SiteFactory.create(enterprise=world.unit_a)
    client.force_login(world.unit_a_officer)
    page = client.get(reverse("hazard-create"))
    assert "source" not in page.context["form"].fields and site.name in page.content.decode()
    data = {
        "enterprise": world.unit_b.pk,  # ignored: a unit records for itself only
        "level": "general",
        "category": "equipment",
        "description": "监控硬盘故障",
        "site": site.pk,
        "found_on": TODAY.isoformat(),
        "deadline": (TODAY - timedelta(days=1)).isoformat(),
    }
    response = client.post(reverse("hazard-create"), data)
    assert response.status_code == 200
    assert "The deadline cannot be in the past." in response.context["form"].errors["deadline"]
    assert not Hazard.objects.filter(description="监控硬盘故障").exists()
    response = client.post(reverse("hazard-create"), {**data, "deadline": ""})
    assert response.status_code == 302
    hazard = Hazard.objects.get(description="监控硬盘故障")
    assert hazard.enterprise == world.unit_a and hazard.site == site
    assert hazard.source == Hazard.Source.SELF_INSPECTION and hazard.accepted_by_unit


# --- statistics -----------------------------------------------------------------------------------
def test_statistics_table_and_downloads(client: Any, world: World) -> None:
    hazard_a(world, found_on=TODAY)
    HazardFactory.create(enterprise=world.unit_b, found_on=TODAY)
    quarter = (TODAY.month - 1) // 3 + 1
    client.force_login(world.county_a)
    response = client.get(reverse("hazard-statistics"))
    body = response.content.decode()
    assert world.unit_a.name in body and world.unit_b.name not in body
    assert f"{TODAY.year} Q{quarter}" in body
    query = {"year": TODAY.year, "quarter": quarter, "enterprise": world.unit_a.pk}
    xlsx = client.get(reverse("hazard-statistics"), {**query, "format": "xlsx"})
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    assert xlsx.content.startswith(b"PK")
    pdf = client.get(reverse("hazard-statistics"), {**query, "format": "pdf"})
    if pdf.status_code == 200:  # (without a PDF engine the page says so instead)
        assert pdf["Content-Type"] == "application/pdf"
    response = client.get(reverse("hazard-statistics"), {"year": 1999, "quarter": 1})
    assert response.status_code == 200 and response.context["form"].errors


def test_unit_statistics_cover_its_own_hazards(client: Any, world: World) -> None:
    hazard_a(world, found_on=TODAY)
    HazardFactory.create(enterprise=world.unit_b, found_on=TODAY)
    client.force_login(world.unit_b_officer)
    response = client.get(reverse("hazard-statistics"))
    body = response.content.decode()
    assert world.unit_b.name in body and world.unit_a.name not in body
    assert "enterprise" not in response.context["form"].fields


# --- menu -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["city", "county_a", "unit_a_officer", "unit_a_employee", "admin"])
def test_menu_has_campaigns_inspections_and_hazards(client: Any, world: World, who: str) -> None:
    client.force_login(getattr(world, who))
    body = client.get(reverse("hazard-list")).content.decode()
    for name, label in (
        ("campaign-list", "Campaigns"),
        ("inspection-list", "Inspections"),
        ("hazard-list", "Hazards"),
    ):
        assert f'<li><a href="{reverse(name)}">{label}</a></li>' in body


def test_partner_menu_has_no_hazards(client: Any, world: World) -> None:
    client.force_login(world.partner_user)
    body = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("hazard-list")}"' not in body
