"""Campaign, draw and inspection pages: who sees what, the no-script inspection form, the JSON
sync the form's script uses, authenticated photos, the notice PDF, and constant query counts."""

from __future__ import annotations

import base64
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from weibao.accounts.models import User
from weibao.hazards.models import Hazard
from weibao.inspections import services
from weibao.inspections.models import (
    AnswerPhoto,
    Campaign,
    CampaignDraw,
    Checklist,
    Inspection,
)
from weibao.tests.factories import EnterpriseFactory, UserFactory, World, make_checklist

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def client(client: Any) -> Any:
    # The assertions read English text; Chinese is the catalogue's business (test_i18n).
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def png(size: tuple[int, int] = (40, 20)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "white").save(buffer, format="PNG")
    return buffer.getvalue()


def inspect(
    world: World, checklist: Checklist | None = None, actor: User | None = None, **data: Any
) -> Inspection:
    """A county A regulator inspection of unit A (two officers), as a draft."""
    return services.inspection_create(
        actor=actor or world.county_a,
        data={
            "enterprise": world.unit_a,
            "checklist": checklist or make_checklist(),
            "inspectors": [world.county_a2],
            **data,
        },
    )


def campaign_for(world: World, checklist: Checklist | None = None) -> Campaign:
    return services.campaign_create(
        actor=world.county_a,
        data={
            "name": "节后复工复产安全检查",
            "scope": [world.county_a_bureau.jurisdiction],
            "kinds": ["explosives_storage"],
            "starts_on": timezone.localdate() - timedelta(days=1),
            "ends_on": timezone.localdate() + timedelta(days=30),
            "checklist": checklist or make_checklist(),
            "spot_check_ratio": "0.5",
        },
    )


def form_post(inspection: Inspection, results: list[str], **extra: Any) -> dict[str, Any]:
    """What the no-script form posts: every item's result, note and deadline, and the rest."""
    data: dict[str, Any] = {
        "inspected_on": timezone.localdate().isoformat(),
        "representative_name": "",
        "signature_text": "",
        "summary": "",
        "site": "",
        "inspectors": [i.pk for i in inspection.inspectors.all()],
        "action": "save",
    }
    for answer, result in zip(inspection.answers.order_by("position"), results, strict=True):
        data[f"result-{answer.item_id}"] = result
        data[f"note-{answer.item_id}"] = "门锁损坏" if result == "fail" else ""
        data[f"deadline-{answer.item_id}"] = ""
    data.update(extra)
    return data


# --- access ------------------------------------------------------------------------------------
def test_anonymous_is_sent_to_sign_in(client: Any, world: World) -> None:
    inspection, campaign = inspect(world), campaign_for(world)
    urls = [reverse(n) for n in ("campaign-list", "campaign-create", "inspection-list")]
    urls += [reverse(n, args=[campaign.pk]) for n in ("campaign-detail", "campaign-edit")]
    urls += [
        reverse(n, args=[inspection.pk])
        for n in (
            "inspection-detail",
            "inspection-edit",
            "inspection-notice",
            "inspection-signature",
        )
    ]
    for url in [reverse("inspection-create"), *urls]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


def test_pages_answer_the_right_personas(client: Any, world: World) -> None:
    inspection = inspect(world)
    campaign = campaign_for(world)
    pages = [
        reverse("campaign-list"),
        reverse("campaign-detail", args=[campaign.pk]),
        reverse("inspection-list"),
        reverse("inspection-detail", args=[inspection.pk]),
        reverse("inspection-edit", args=[inspection.pk]),
    ]
    for user in (world.county_a, world.city):
        client.force_login(user)
        for url in pages:
            assert client.get(url).status_code == 200, (user, url)
    client.force_login(world.county_a)
    assert client.get(reverse("campaign-create")).status_code == 200
    assert client.get(reverse("campaign-edit", args=[campaign.pk])).status_code == 200
    assert client.get(reverse("inspection-create")).status_code == 200


def test_county_b_gets_404_on_county_a_objects(client: Any, world: World) -> None:
    inspection = inspect(world)
    campaign = campaign_for(world)
    client.force_login(world.county_b)
    for name, pk in [
        ("campaign-detail", campaign.pk),
        ("campaign-edit", campaign.pk),
        ("campaign-draw", campaign.pk),
        ("inspection-detail", inspection.pk),
        ("inspection-edit", inspection.pk),
        ("inspection-notice", inspection.pk),
        ("inspection-signature", inspection.pk),
    ]:
        assert client.get(reverse(name, args=[pk])).status_code == 404, name
    assert client.post(reverse("inspection-photo-add", args=[inspection.pk])).status_code == 404
    body = client.get(reverse("inspection-list")).content.decode()
    assert world.unit_a.name not in body
    body = client.get(reverse("campaign-list")).content.decode()
    assert campaign.name not in body


def test_unit_cannot_open_a_drafted_spot_check(client: Any, world: World) -> None:
    campaign = campaign_for(world)
    record = services.campaign_draw(actor=world.county_a, campaign=campaign, seed="s")
    drawn = Inspection.objects.get(draw=record, enterprise=world.unit_a)
    client.force_login(world.unit_a_officer)
    assert client.get(reverse("inspection-detail", args=[drawn.pk])).status_code == 404
    assert client.get(reverse("inspection-edit", args=[drawn.pk])).status_code == 404
    assert world.unit_a.name not in client.get(reverse("inspection-list")).content.decode()
    # The campaign itself is public to the unit (it must self-inspect), its draws are not.
    body = client.get(reverse("campaign-detail", args=[campaign.pk])).content.decode()
    assert "s</code>" not in body and 'data-testid="draw"' not in body
    assert client.post(reverse("campaign-draw", args=[campaign.pk])).status_code == 403


# --- campaigns ---------------------------------------------------------------------------------
def test_campaign_list_filters_by_state(client: Any, world: World) -> None:
    running = campaign_for(world)
    ended = campaign_for(world)
    Campaign.objects.filter(pk=ended.pk).update(
        name="去年的行动",
        starts_on=timezone.localdate() - timedelta(days=400),
        ends_on=timezone.localdate() - timedelta(days=300),
    )
    client.force_login(world.county_a)
    body = client.get(reverse("campaign-list"), {"state": "ended"}).content.decode()
    assert "去年的行动" in body and f'href="/campaigns/{running.pk}/"' not in body
    body = client.get(reverse("campaign-list"), {"state": "active"}).content.decode()
    assert "去年的行动" not in body and f'href="/campaigns/{running.pk}/"' in body


def test_campaign_create_and_edit(client: Any, world: World) -> None:
    checklist = make_checklist()
    client.force_login(world.city)
    body = client.get(reverse("campaign-create")).content.decode()
    assert 'value="430405"' in body and 'value="430406"' in body  # the city's counties
    today = timezone.localdate()
    data = {
        "name": "汛期安全检查",
        "scope": ["430405", "430406"],
        "kinds": ["explosives_storage", "fireworks_wholesale"],
        "starts_on": today.isoformat(),
        "ends_on": (today - timedelta(days=1)).isoformat(),
        "checklist": checklist.pk,
        "self_inspection_required": "on",
        "spot_check_ratio": "0.2",
    }
    response = client.post(reverse("campaign-create"), data)
    assert response.status_code == 200  # the service refused: ends before it starts
    assert "The campaign cannot end before it starts." in response.content.decode()
    assert not Campaign.objects.exists()
    data["ends_on"] = (today + timedelta(days=20)).isoformat()
    response = client.post(reverse("campaign-create"), data)
    campaign = Campaign.objects.get()
    assert response["Location"] == reverse("campaign-detail", args=[campaign.pk])
    assert campaign.scope_list == ["430405", "430406"] and campaign.jurisdiction_id == "430400"
    response = client.post(
        reverse("campaign-edit", args=[campaign.pk]), {**data, "name": "汛期安全大检查"}
    )
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.name == "汛期安全大检查"
    client.force_login(world.county_a)  # a county does not change the city's campaign
    assert client.get(reverse("campaign-edit", args=[campaign.pk])).status_code == 403
    client.force_login(world.unit_a_officer)
    assert client.get(reverse("campaign-create")).status_code == 403


def test_draw_confirms_then_draws_and_shows_replay(client: Any, world: World) -> None:
    campaign = campaign_for(world)
    for _ in range(3):
        EnterpriseFactory.create(jurisdiction_id="430405")
    client.force_login(world.county_a)
    body = client.get(reverse("campaign-detail", args=[campaign.pk])).content.decode()
    assert 'data-testid="draw"' in body and "data-confirm=" in body
    # Without the confirmation (no script ran the dialog) nothing is drawn: a page asks.
    response = client.post(reverse("campaign-draw", args=[campaign.pk]), {"confirmed": ""})
    assert response.status_code == 200 and 'data-testid="draw-confirm"' in response.content.decode()
    assert not CampaignDraw.objects.exists()
    response = client.post(reverse("campaign-draw", args=[campaign.pk]), {"confirmed": "1"})
    assert response.status_code == 302
    record = CampaignDraw.objects.get()
    body = client.get(reverse("campaign-detail", args=[campaign.pk])).content.decode()
    assert record.seed in body and 'data-testid="draw"' not in body
    assert 'data-testid="replay"><span class="state">' in body  # "matches"
    assert str(world.county_a) in body or str(world.county_a2) in body
    assert body.count('href="/inspections/') >= len(record.result)
    # A second draw for the same area is refused by the service, shown as a message.
    response = client.post(
        reverse("campaign-draw", args=[campaign.pk]), {"confirmed": "1"}, follow=True
    )
    assert "a draw is final" in response.content.decode()
    assert CampaignDraw.objects.count() == 1


def test_campaign_detail_shows_progress(client: Any, world: World) -> None:
    checklist = make_checklist()
    campaign = campaign_for(world, checklist)
    inspection = services.inspection_create(
        actor=world.unit_a_officer,
        data={
            "enterprise": world.unit_a,
            "kind": "self_inspection",
            "campaign": campaign,
            "checklist": checklist,
        },
    )
    client.force_login(world.unit_a_officer)
    client.post(
        reverse("inspection-edit", args=[inspection.pk]),
        form_post(
            inspection,
            ["fail", "pass", "pass"],
            conducted_by="王五",
            representative_name="王五",
            signature_text="王五",
            action="submit",
        ),
    )
    client.force_login(world.county_a)
    body = client.get(reverse("campaign-detail", args=[campaign.pk])).content.decode()
    assert 'data-testid="self-inspections">1 / 1<' in body
    assert 'data-testid="hazards-by-level"' in body


# --- inspections: list and create ----------------------------------------------------------------
def test_inspection_list_filters_and_scopes(client: Any, world: World) -> None:
    inspect(world)
    own = services.inspection_create(
        actor=world.unit_a_officer,
        data={"enterprise": world.unit_a, "kind": "self_inspection", "checklist": make_checklist()},
    )
    client.force_login(world.county_a)
    body = client.get(reverse("inspection-list"), {"kind": "self_inspection"}).content.decode()
    assert f"/inspections/{own.pk}/" in body and body.count('class="row inspection-row') == 1
    client.force_login(world.unit_a_officer)
    body = client.get(reverse("inspection-list")).content.decode()
    # The unit sees its self-inspection (and may carry on with it), not the bureau's draft.
    assert body.count('class="row inspection-row') == 1
    assert reverse("inspection-edit", args=[own.pk]) in body
    client.force_login(world.unit_b_officer)
    assert (
        'class="row inspection-row' not in client.get(reverse("inspection-list")).content.decode()
    )


def test_regulator_creates_a_draft_and_lands_on_the_form(client: Any, world: World) -> None:
    checklist = make_checklist()
    client.force_login(world.county_a)
    response = client.post(
        reverse("inspection-create"),
        {
            "enterprise": world.unit_a.pk,
            "kind": "routine",
            "checklist": checklist.pk,
            "inspectors": [world.county_a2.pk],
        },
    )
    inspection = Inspection.objects.get()
    assert response["Location"] == reverse("inspection-edit", args=[inspection.pk])
    assert set(inspection.inspectors.all()) == {world.county_a, world.county_a2}
    assert inspection.answers.count() == 3


def test_unit_creates_only_self_inspections(client: Any, world: World) -> None:
    checklist = make_checklist()
    client.force_login(world.unit_a_officer)
    body = client.get(reverse("inspection-create")).content.decode()
    assert 'value="self_inspection"' in body and 'value="routine"' not in body
    assert 'name="enterprise"' not in body and 'name="inspectors"' not in body
    response = client.post(
        reverse("inspection-create"), {"kind": "routine", "checklist": checklist.pk}
    )
    assert response.status_code == 200 and not Inspection.objects.exists()
    client.post(
        reverse("inspection-create"), {"kind": "self_inspection", "checklist": checklist.pk}
    )
    inspection = Inspection.objects.get()
    assert inspection.enterprise == world.unit_a and inspection.is_self_inspection
    client.force_login(world.unit_a_employee)
    assert client.get(reverse("inspection-create")).status_code == 403


# --- the inspection form without a script ------------------------------------------------------
def test_form_shows_one_card_per_item_with_its_controls(client: Any, world: World) -> None:
    inspection = inspect(world)
    client.force_login(world.county_a)
    body = client.get(reverse("inspection-edit", args=[inspection.pk])).content.decode()
    for n in (1, 2, 3):
        assert f'data-testid="item-{n}"' in body
        for result in ("pass", "fail", "not_applicable"):
            assert f'data-testid="result-{n}-{result}"' in body
    for testid in (
        "next",
        "prev",
        "save",
        "submit",
        "signature-canvas",
        "representative-name",
        "inspected-on",
        "sync-status",
    ):
        assert f'data-testid="{testid}"' in body, testid
    assert 'capture="environment"' in body and 'accept="image/*"' in body
    assert "Item 1 of 3" in body and "《民用爆炸物品安全管理条例》第四十一条" in body
    # What the script says comes translated from the server.
    script = body.split('id="inspection-strings" type="application/json">')[1]
    strings = json.loads(script.split("</script>")[0])
    assert strings["local"] == "Saved on this phone, will sync when online."


def test_posting_the_form_saves_a_draft(client: Any, world: World) -> None:
    inspection = inspect(world)
    other = UserFactory.create(agency=world.county_a_bureau)
    client.force_login(world.county_a)
    deadline = timezone.localdate() + timedelta(days=7)
    first = inspection.answers.order_by("position").first()
    assert first is not None
    data = form_post(
        inspection,
        ["fail", "pass", ""],
        inspectors=[world.county_a.pk, other.pk],
        **{f"deadline-{first.item_id}": deadline.isoformat()},
    )
    data[f"photo-{first.item_id}"] = SimpleUploadedFile("p.png", png(), content_type="image/png")
    response = client.post(reverse("inspection-edit", args=[inspection.pk]), data)
    assert response["Location"] == reverse("inspection-edit", args=[inspection.pk])
    answers = list(inspection.answers.order_by("position"))
    assert [a.result for a in answers] == ["fail", "pass", ""]
    assert answers[0].note == "门锁损坏" and answers[0].deadline == deadline
    assert answers[0].photos.count() == 1
    assert set(inspection.inspectors.all()) == {world.county_a, other}
    inspection.refresh_from_db()
    assert inspection.status == "draft" and inspection.inspected_on == timezone.localdate()
    # The page shows what was saved (the result is checked, the photo through the app).
    body = client.get(reverse("inspection-edit", args=[inspection.pk])).content.decode()
    assert 'value="fail" checked data-testid="result-1-fail"' in body
    photo = answers[0].photos.get()
    assert reverse("inspection-photo", args=[inspection.pk, photo.pk]) in body


def test_past_deadline_is_shown_on_its_item(client: Any, world: World) -> None:
    inspection = inspect(world)
    client.force_login(world.county_a)
    second = inspection.answers.order_by("position")[1]
    past = (timezone.localdate() - timedelta(days=1)).isoformat()
    data = form_post(inspection, ["pass", "fail", "pass"], **{f"deadline-{second.item_id}": past})
    response = client.post(reverse("inspection-edit", args=[inspection.pk]), data)
    body = response.content.decode()
    assert response.status_code == 200 and "The deadline cannot be in the past." in body
    card = body.split('data-testid="item-2"')[0].rsplit("<section", 1)[1]
    assert "has-error" in card
    assert not inspection.answers.exclude(result="").exists()  # nothing written


def test_incomplete_submit_shows_the_errors_and_files_nothing(client: Any, world: World) -> None:
    inspection = inspect(world, checklist=make_checklist(items=5))
    client.force_login(world.county_a)
    data = form_post(inspection, ["fail", "pass", "", "pass", ""], action="submit")
    response = client.post(reverse("inspection-edit", args=[inspection.pk]), data)
    body = response.content.decode()
    assert response.status_code == 200
    assert "These items have no answer yet: 3, 5." in body
    assert 'href="#item-3"' in body and 'href="#item-5"' in body
    assert "The unit&#x27;s representative must be named." in body
    assert "The unit&#x27;s representative must sign (typed or drawn)." in body
    inspection.refresh_from_db()
    assert inspection.status == "draft" and not inspection.number
    assert not Hazard.objects.exists()


def test_complete_submit_files_the_hazards(client: Any, world: World) -> None:
    inspection = inspect(world)
    client.force_login(world.county_a)
    data = form_post(
        inspection,
        ["fail", "fail", "pass"],
        representative_name="李四",
        signature_text="李四",
        action="submit",
    )
    response = client.post(reverse("inspection-edit", args=[inspection.pk]), data)
    assert response["Location"] == reverse("inspection-detail", args=[inspection.pk])
    inspection.refresh_from_db()
    assert inspection.status == "submitted" and inspection.number.startswith("430405-")
    hazards = list(Hazard.objects.filter(inspection=inspection).order_by("id"))
    assert [h.level for h in hazards] == ["major", "general"]
    body = client.get(reverse("inspection-detail", args=[inspection.pk])).content.decode()
    assert inspection.number in body
    for hazard in hazards:
        assert f'href="/hazards/{hazard.pk}/"' in body
    assert reverse("inspection-notice", args=[inspection.pk]) in body
    # Locked: the form sends the user to the record.
    response = client.get(reverse("inspection-edit", args=[inspection.pk]))
    assert response["Location"] == reverse("inspection-detail", args=[inspection.pk])
    # The unit now sees the submitted record (and its notice link).
    client.force_login(world.unit_a_officer)
    assert client.get(reverse("inspection-detail", args=[inspection.pk])).status_code == 200


def test_drawn_signature_is_saved_and_served_only_through_the_app(
    client: Any, world: World
) -> None:
    inspection = inspect(world)
    client.force_login(world.county_a)
    drawn = "data:image/png;base64," + base64.b64encode(png((300, 120))).decode()
    data = form_post(inspection, ["pass", "pass", "pass"], signature_drawn=drawn)
    client.post(reverse("inspection-edit", args=[inspection.pk]), data)
    inspection.refresh_from_db()
    assert inspection.signature_image
    response = client.get(reverse("inspection-signature", args=[inspection.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    data["signature_drawn"] = "data:image/png;base64,not-base64!"
    response = client.post(reverse("inspection-edit", args=[inspection.pk]), data)
    assert "The drawn signature could not be read" in response.content.decode()


def test_regulator_cannot_edit_a_units_self_inspection(client: Any, world: World) -> None:
    own = services.inspection_create(
        actor=world.unit_a_officer,
        data={"enterprise": world.unit_a, "kind": "self_inspection", "checklist": make_checklist()},
    )
    client.force_login(world.county_a)
    assert client.get(reverse("inspection-detail", args=[own.pk])).status_code == 200
    assert client.get(reverse("inspection-edit", args=[own.pk])).status_code == 403


# --- what the form's script talks to --------------------------------------------------------
def test_sync_answers_json(client: Any, world: World) -> None:
    inspection = inspect(world)
    client.force_login(world.county_a)
    url = reverse("inspection-edit", args=[inspection.pk])
    response = client.post(
        url, form_post(inspection, ["pass", "", ""]), HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 200
    payload = response.json()
    assert payload["ok"] is True and payload["version"].isdigit()
    assert inspection.answers.filter(result="pass").count() == 1
    third = inspection.answers.order_by("position")[2]
    past = (timezone.localdate() - timedelta(days=2)).isoformat()
    response = client.post(
        url,
        form_post(inspection, ["pass", "", "fail"], **{f"deadline-{third.item_id}": past}),
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    assert f"deadline-{third.item_id}" in response.json()["errors"]
    inspection.refresh_from_db()
    services.inspection_update(
        actor=world.county_a,
        inspection=inspection,
        data={"representative_name": "李四", "signature_text": "李四"},
        answers=[{"item": a.item_id, "result": "pass"} for a in inspection.answers.all()],
    )
    services.inspection_submit(actor=world.county_a, inspection=inspection)
    response = client.post(url, form_post(inspection, ["pass"] * 3), HTTP_ACCEPT="application/json")
    assert response.status_code == 409 and response.json()["locked"] is True


def test_queued_photo_upload_and_authenticated_serving(client: Any, world: World) -> None:
    inspection = inspect(world)
    item = inspection.answers.order_by("position")[1].item_id
    url = reverse("inspection-photo-add", args=[inspection.pk])
    client.force_login(world.county_a)
    upload = SimpleUploadedFile("photo.png", png(), content_type="image/png")
    response = client.post(url, {"item": item, "file": upload})
    assert response.status_code == 201
    photo = AnswerPhoto.objects.get()
    assert photo.answer.item_id == item and response.json()["url"].endswith(f"/{photo.pk}/")
    served = client.get(response.json()["url"])
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content).startswith(b"\x89PNG")
    text = SimpleUploadedFile("photo.png", b"not an image", content_type="image/png")
    response = client.post(url, {"item": item, "file": text})
    assert response.status_code == 400 and response.json()["errors"]
    client.force_login(world.county_b)
    assert (
        client.get(reverse("inspection-photo", args=[inspection.pk, photo.pk])).status_code == 404
    )
    client.logout()
    served = client.get(reverse("inspection-photo", args=[inspection.pk, photo.pk]))
    assert served.status_code == 302


# --- the notice --------------------------------------------------------------------------------
def test_notice_pdf_for_a_submitted_inspection(client: Any, world: World) -> None:
    inspection = inspect(world)
    client.force_login(world.county_a)
    url = reverse("inspection-notice", args=[inspection.pk])
    assert "Submit the inspection first" in client.get(url, follow=True).content.decode()
    pytest.importorskip("weasyprint")
    data = form_post(
        inspection, ["fail", "pass", "pass"], representative_name="李四", signature_text="李四"
    )
    client.post(reverse("inspection-edit", args=[inspection.pk]), {**data, "action": "submit"})
    response = client.get(url)
    assert response.status_code == 200, response.content[:200]
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")


# --- queries -------------------------------------------------------------------------------------
def test_form_query_count_does_not_grow_with_the_checklist(client: Any, world: World) -> None:
    small = inspect(world, checklist=make_checklist(code="small", items=3))
    large = inspect(world, checklist=make_checklist(code="large", items=30))
    for inspection in (small, large):  # a photo on every answer
        for answer in inspection.answers.all():
            AnswerPhoto.objects.create(
                answer=answer, file="inspections/x.png", uploaded_by=world.county_a
            )
    client.force_login(world.county_a)
    client.get(reverse("inspection-edit", args=[small.pk]))
    counts = []
    for inspection in (small, large):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("inspection-edit", args=[inspection.pk]))
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], [q["sql"][:100] for q in queries.captured_queries]
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("inspection-detail", args=[small.pk]))
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("inspection-detail", args=[large.pk]))
    assert len(few) == len(many)


def test_list_query_count_does_not_grow_with_the_rows(client: Any, world: World) -> None:
    checklist = make_checklist()
    campaign = campaign_for(world, checklist)

    def add(n: int) -> None:
        for _ in range(n):
            services.inspection_create(
                actor=world.county_a,
                data={
                    "enterprise": world.unit_a,
                    "checklist": checklist,
                    "campaign": campaign,
                    "inspectors": [world.county_a2],
                },
            )

    add(3)
    client.force_login(world.county_a)
    client.get(reverse("inspection-list"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("inspection-list"))
    with CaptureQueriesContext(connection) as few_campaign:
        client.get(reverse("campaign-detail", args=[campaign.pk]))
    add(27)
    with CaptureQueriesContext(connection) as many:
        body = client.get(reverse("inspection-list")).content.decode()
    assert body.count('class="row inspection-row') == 30
    assert len(few) == len(many), [q["sql"][:100] for q in many.captured_queries]
    with CaptureQueriesContext(connection) as many_campaign:
        client.get(reverse("campaign-detail", args=[campaign.pk]))
    assert len(few_campaign) == len(many_campaign)
