"""API: an inspection from draft to submitted, with photos, signature and notice; bad input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from weibao.hazards.models import Hazard, HazardAttachment
from weibao.inspections import services
from weibao.inspections.models import Inspection
from weibao.inspections.tests.test_api import checklist, draft, fill, ids, submitted
from weibao.tests.factories import SiteFactory, World, make_checklist

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 64


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


def detail_url(inspection: Inspection | int, *rest: str) -> str:
    pk = inspection if isinstance(inspection, int) else inspection.pk
    return reverse("api:inspection-detail", args=[pk]) + "".join(f"{p}/" for p in rest)


def photo_url(inspection: Inspection, item_id: int) -> str:
    return reverse("api:inspection-answer-photos", args=[inspection.pk, item_id])


def upload(content: bytes, name: str = "photo.png") -> dict[str, Any]:
    return {"file": SimpleUploadedFile(name, content)}


def test_full_flow_over_the_api(world: World, api: Any) -> None:
    items = checklist()
    site = SiteFactory.create(enterprise=world.unit_a)
    client = api(world.county_a)
    created = client.post(
        reverse("api:inspection-list"),
        {
            "kind": "routine",
            "enterprise": world.unit_a.pk,
            "site": site.pk,
            "checklist": items.pk,
            "inspectors": [world.county_a2.pk],
            "planned_on": str(timezone.localdate()),
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "draft"
    assert body["site_name"] == site.name
    assert [p["id"] for p in body["inspectors"]] == sorted([world.county_a.pk, world.county_a2.pk])
    assert [a["result"] for a in body["answers"]] == [None, None, None]
    first, second, third = (a["item"] for a in body["answers"])
    url = detail_url(body["id"])

    patched = client.patch(
        url,
        {
            "inspected_on": str(timezone.localdate()),
            "summary": "库房整体良好",
            "representative_name": "李四",
            "signature_text": "李四",
            "location": {"latitude": "26.893", "longitude": "112.617"},
            "answers": [
                {"item": first, "result": "fail", "note": "防盗门锁损坏"},
                {"item": second, "result": "pass"},
                {"item": third, "result": "not_applicable"},
            ],
        },
        format="json",
    )
    assert patched.status_code == 200, patched.content
    answers = patched.json()["answers"]
    assert [a["result"] for a in answers] == ["fail", "pass", "not_applicable"]
    assert answers[0]["result_display"] == "Fail"

    photo = client.post(photo_url(Inspection.objects.get(), first), upload(PNG), format="multipart")
    assert photo.status_code == 201, photo.content
    served = client.get(photo.json()["url"])
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content) == PNG

    done = client.post(detail_url(body["id"], "submit"))
    assert done.status_code == 200, done.content
    result = done.json()
    assert result["status"] == "submitted"
    assert result["number"].startswith("430405-")
    assert len(result["hazards"]) == 1
    assert result["hazards"][0]["level"] == "major"
    assert result["answers"][0]["photos"][0]["id"] == photo.json()["id"]
    hazard = Hazard.objects.get()
    assert hazard.inspection_id == body["id"]
    assert HazardAttachment.objects.filter(hazard=hazard).count() == 1

    # The unit now sees it, with the hazard; the notice is a PDF.
    unit_view = api(world.unit_a_officer).get(url)
    assert unit_view.status_code == 200
    assert unit_view.json()["hazards"][0]["reference"] == hazard.reference
    notice = client.get(detail_url(body["id"], "rectification-notice"))
    assert notice.status_code == 200, notice.content
    assert notice["Content-Type"] == "application/pdf"
    assert notice.content.startswith(b"%PDF")

    # Locked from now on.
    again = client.post(detail_url(body["id"], "submit"))
    assert again.status_code == 409
    assert again["Content-Type"] == "application/problem+json"
    assert client.patch(url, {"summary": "改"}, format="json").status_code == 409
    late = client.post(photo_url(Inspection.objects.get(), first), upload(PNG), format="multipart")
    assert late.status_code == 409


def test_answers_for_items_not_in_the_checklist(world: World, api: Any) -> None:
    inspection = draft(world)
    other = make_checklist(code="other")
    response = api(world.county_a).patch(
        detail_url(inspection),
        {"answers": [{"item": other.items.get(position=1).pk, "result": "fail"}]},
        format="json",
    )
    assert response.status_code == 400
    assert "answers[0].item" in response.json()["errors"]


@pytest.mark.parametrize(
    "answer",
    [
        {"item": "1", "result": "pass"},  # ids are numbers
        {"item": 1, "result": "maybe"},
        {"item": 1, "note": 5},
        {"result": "pass"},
    ],
)
def test_answers_are_strictly_typed(world: World, api: Any, answer: dict[str, Any]) -> None:
    inspection = draft(world)
    response = api(world.county_a).patch(
        detail_url(inspection), {"answers": [answer]}, format="json"
    )
    assert response.status_code == 400, response.content
    assert any(key.startswith("answers[0].") for key in response.json()["errors"])


def test_deadline_in_the_past_is_refused(world: World, api: Any) -> None:
    inspection = draft(world)
    item = inspection.answers.first().item_id  # type: ignore[union-attr]
    yesterday = str(timezone.localdate() - timedelta(days=1))
    response = api(world.county_a).patch(
        detail_url(inspection),
        {"answers": [{"item": item, "result": "fail", "deadline": yesterday}]},
        format="json",
    )
    assert response.status_code == 400
    assert "answers[0].deadline" in response.json()["errors"]


def test_submitting_incomplete_lists_what_is_missing(world: World, api: Any) -> None:
    inspection = draft(world)
    response = api(world.county_a).post(detail_url(inspection, "submit"))
    assert response.status_code == 400
    assert {"answers", "inspected_on", "representative_name", "signature"} <= set(
        response.json()["errors"]
    )
    inspection.refresh_from_db()
    assert inspection.status == "draft"
    assert not Hazard.objects.exists()


@pytest.mark.parametrize(
    ("content", "name"),
    [(b"%PDF-1.7 not a photo", "photo.png"), (b"just text", "photo.jpg"), (b"", "empty.png")],
)
def test_photo_must_be_an_image(world: World, api: Any, content: bytes, name: str) -> None:
    inspection = draft(world)
    item = inspection.answers.first().item_id  # type: ignore[union-attr]
    response = api(world.county_a).post(
        photo_url(inspection, item), upload(content, name), format="multipart"
    )
    assert response.status_code == 400
    assert "file" in response.json()["errors"]


def test_oversized_photo_is_refused(world: World, api: Any, settings: Any) -> None:
    settings.MAX_PHOTO_BYTES = 32
    inspection = draft(world)
    item = inspection.answers.first().item_id  # type: ignore[union-attr]
    response = api(world.county_a).post(
        photo_url(inspection, item), upload(JPEG, "big.jpg"), format="multipart"
    )
    assert response.status_code == 400
    assert "file" in response.json()["errors"]
    assert not inspection.answers.filter(photos__isnull=False).exists()


def test_photo_for_an_item_not_in_the_checklist(world: World, api: Any) -> None:
    inspection = draft(world)
    other = make_checklist(code="other").items.get(position=1)
    response = api(world.county_a).post(
        photo_url(inspection, other.pk), upload(PNG), format="multipart"
    )
    assert response.status_code == 400
    assert "item" in response.json()["errors"]


def test_photo_of_another_inspection_is_not_served(world: World, api: Any) -> None:
    one, two = draft(world), draft(world)
    item = one.answers.first().item_id  # type: ignore[union-attr]
    photo = services.answer_photo_add(
        actor=world.county_a,
        inspection=one,
        item_id=item,
        upload=SimpleUploadedFile("p.png", PNG),
    )
    client = api(world.county_a)
    assert client.get(detail_url(one, "photos", str(photo.pk))).status_code == 200
    assert client.get(detail_url(two, "photos", str(photo.pk))).status_code == 404
    assert api(world.county_b).get(detail_url(one, "photos", str(photo.pk))).status_code == 404
    # A drafted inspection is not the unit's to see yet, nor its photos.
    assert (
        api(world.unit_a_officer).get(detail_url(one, "photos", str(photo.pk))).status_code == 404
    )


def test_drawn_signature(world: World, api: Any) -> None:
    inspection = draft(world)
    client = api(world.county_a)
    response = client.post(detail_url(inspection, "signature"), upload(PNG), format="multipart")
    assert response.status_code == 200, response.content
    assert response.json()["has_signature_image"] is True
    refused = client.post(
        detail_url(inspection, "signature"), upload(b"GIF89a...", "s.gif"), format="multipart"
    )
    assert refused.status_code == 400
    assert "file" in refused.json()["errors"]


def test_unit_cannot_create_a_bureau_inspection(world: World, api: Any) -> None:
    body = {"kind": "routine", "enterprise": world.unit_a.pk, "checklist": checklist().pk}
    response = api(world.unit_a_officer).post(reverse("api:inspection-list"), body, format="json")
    assert response.status_code == 403
    assert (
        api(world.unit_a_employee)
        .post(reverse("api:inspection-list"), body, format="json")
        .status_code
        == 403
    )
    assert not Inspection.objects.exists()


def test_unit_runs_its_self_inspection(world: World, api: Any) -> None:
    client = api(world.unit_a_officer)
    created = client.post(
        reverse("api:inspection-list"),
        {"kind": "self_inspection", "enterprise": world.unit_a.pk, "checklist": checklist().pk},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["inspectors"] == []
    url = detail_url(body["id"])
    patched = client.patch(
        url,
        {
            "inspected_on": str(timezone.localdate()),
            "conducted_by": "王安全",
            "representative_name": "张三",
            "signature_text": "张三",
            "answers": [{"item": a["item"], "result": "pass"} for a in body["answers"]],
        },
        format="json",
    )
    assert patched.status_code == 200, patched.content
    assert client.post(detail_url(body["id"], "submit")).status_code == 200
    # No notice for a self-inspection.
    assert client.get(detail_url(body["id"], "rectification-notice")).status_code == 409
    # The bureau reads it; it is the unit's record to keep, not the bureau's to edit.
    assert api(world.county_a).get(url).status_code == 200
    assert api(world.county_a).patch(url, {"summary": "x"}, format="json").status_code == 403


def test_notice_only_for_a_submitted_bureau_inspection(world: World, api: Any) -> None:
    inspection = draft(world)
    client = api(world.county_a)
    response = client.get(detail_url(inspection, "rectification-notice"))
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    clean = submitted(world)  # every item passed: nothing to order rectified
    assert client.get(detail_url(clean, "rectification-notice")).status_code == 409


def test_county_b_cannot_act_on_county_a_inspections(world: World, api: Any) -> None:
    inspection = draft(world)
    client = api(world.county_b)
    assert client.get(detail_url(inspection)).status_code == 404
    assert client.patch(detail_url(inspection), {"summary": "x"}, format="json").status_code == 404
    assert client.post(detail_url(inspection, "submit")).status_code == 404
    assert client.post(detail_url(inspection, "signature"), upload(PNG)).status_code == 404
    item = inspection.answers.first().item_id  # type: ignore[union-attr]
    assert client.post(photo_url(inspection, item), upload(PNG)).status_code == 404
    # Nor inspect county A's units, nor name county A's officers.
    body = {"enterprise": world.unit_a.pk, "checklist": checklist().pk}
    response = client.post(reverse("api:inspection-list"), body, format="json")
    assert response.status_code == 400
    assert "enterprise" in response.json()["errors"]


def test_unit_cannot_edit_a_submitted_bureau_inspection(world: World, api: Any) -> None:
    done = submitted(world)
    response = api(world.unit_a_officer).patch(detail_url(done), {"summary": "x"}, format="json")
    assert response.status_code == 403


def test_inspectors_are_resolved_within_scope(world: World, api: Any) -> None:
    client = api(world.county_a)
    body = {
        "enterprise": world.unit_a.pk,
        "checklist": checklist().pk,
        "inspectors": [world.county_b.pk],
    }
    response = client.post(reverse("api:inspection-list"), body, format="json")
    assert response.status_code == 400
    message = response.json()["errors"]["inspectors[0]"][0]
    assert "does not exist" in message
    inspection = draft(world)
    patched = client.patch(
        detail_url(inspection), {"inspectors": [world.unit_a_officer.pk]}, format="json"
    )
    assert patched.status_code == 400


def test_filters(world: World, api: Any) -> None:
    done = submitted(world)
    spot = draft(world, kind="spot_check")
    other = services.inspection_create(
        actor=world.unit_b_officer,
        data={"kind": "self_inspection", "enterprise": world.unit_b, "checklist": checklist()},
    )
    client = api(world.city)
    url = reverse("api:inspection-list")
    today = str(timezone.localdate())
    assert ids(client.get(url, {"status": "submitted"})) == {done.pk}
    assert ids(client.get(url, {"kind": "spot_check"})) == {spot.pk}
    assert ids(client.get(url, {"enterprise": world.unit_b.pk})) == {other.pk}
    assert ids(client.get(url, {"jurisdiction": "430405"})) == {done.pk, spot.pk}
    assert ids(client.get(url, {"jurisdiction": "430400"})) == {done.pk, spot.pk, other.pk}
    assert ids(client.get(url, {"inspected_on_after": today})) == {done.pk}
    assert ids(client.get(url, {"inspected_on_before": "2000-01-01"})) == set()
    assert ids(client.get(url, {"search": done.number})) == {done.pk}
    assert client.get(url, {"kind": "raid"}).status_code == 400
    assert client.get(url, {"jurisdiction": "999999"}).status_code == 400


def test_detail_query_count_does_not_grow_with_the_checklist(world: World, api: Any) -> None:
    client = api(world.county_a)

    def count(items: int) -> int:
        inspection = draft(world, checklist=make_checklist(code=f"c{items}", items=items))
        fill(world.county_a, inspection, ["fail"] * items)
        for answer in inspection.answers.all()[:3]:
            services.answer_photo_add(
                actor=world.county_a,
                inspection=inspection,
                item_id=answer.item_id,
                upload=SimpleUploadedFile("p.png", PNG),
            )
        services.inspection_submit(actor=world.county_a, inspection=inspection)
        url = detail_url(inspection)
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        assert len(response.json()["answers"]) == items
        assert len(response.json()["hazards"]) == items
        return len(queries)

    few, many = count(3), count(30)
    assert few == many
    assert many <= 8


def test_create_and_update_answers_in_a_bounded_number_of_queries(world: World, api: Any) -> None:
    client = api(world.county_a)
    inspection = draft(world, checklist=make_checklist(code="big", items=30))
    answers = [{"item": a.item_id, "result": "pass"} for a in inspection.answers.all()]
    with CaptureQueriesContext(connection) as queries:
        response = client.patch(detail_url(inspection), {"answers": answers}, format="json")
    assert response.status_code == 200
    assert len(queries) < 30, [q["sql"] for q in queries.captured_queries]


def test_list_shows_no_answers(world: World, api: Any) -> None:
    submitted(world)
    row = api(world.city).get(reverse("api:inspection-list")).json()["results"][0]
    assert "answers" not in row
    assert row["kind_display"] == "Routine inspection"
    assert row["status_display"] == "Submitted"
    assert len(row["inspectors"]) == 2


def test_photo_bytes_are_sniffed_not_named(world: World, api: Any) -> None:
    inspection = draft(world)
    item = inspection.answers.first().item_id  # type: ignore[union-attr]
    client = api(world.county_a)
    named = client.post(photo_url(inspection, item), upload(JPEG, "x.png"), format="multipart")
    assert named.status_code == 201
    served = client.get(named.json()["url"])
    assert served["Content-Type"] == "image/jpeg"


def test_create_is_idempotent(world: World, api: Any) -> None:
    client = api(world.county_a)
    body = {"enterprise": world.unit_a.pk, "checklist": checklist().pk}
    headers = {"HTTP_IDEMPOTENCY_KEY": "a2f4-visit-1"}
    first = client.post(reverse("api:inspection-list"), body, format="json", **headers)
    again = client.post(reverse("api:inspection-list"), body, format="json", **headers)
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Inspection.objects.count() == 1
