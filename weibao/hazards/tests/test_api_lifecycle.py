"""The hazard life cycle over the API: each step, each refusal (400, 403, 404, 409), files and the
acceptance record."""

from __future__ import annotations

import importlib.util
import sys
import types
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from weibao.hazards import services
from weibao.hazards.models import Hazard, HazardAttachment
from weibao.inspections.models import Inspection
from weibao.tests.factories import HazardFactory, World, make_checklist

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PROBLEM = "application/problem+json"
PLAN = {
    "objective": "恢复库房防盗功能",
    "measures": "更换防盗门",
    "funds": "12000.00",
    "deadline": (timezone.localdate() + timedelta(days=20)).isoformat(),
    "responsible_person": "安全科 王五",
    "emergency_measures": "整改期间库房停用，双人值守",
}


def url(hazard: Hazard, step: str = "") -> str:
    if not step:
        return reverse("api:hazard-detail", args=[hazard.pk])
    return reverse(f"api:hazard-{step}", args=[hazard.pk])


def photo(name: str = "door.png", body: bytes = PNG) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, body, content_type="image/png")


def awaiting(world: World, **kwargs: Any) -> Hazard:
    hazard: Hazard = HazardFactory.create(enterprise=world.unit_a, **kwargs)
    services.hazard_submit_rectification(actor=world.unit_a_officer, hazard=hazard, note="已整改")
    hazard.refresh_from_db()
    return hazard


def test_regulator_found_general_hazard_full_cycle(world: World, api: Any) -> None:
    unit, county = api(world.unit_a_officer), api(world.county_a)
    created = county.post(
        reverse("api:hazard-list"),
        {
            "enterprise": world.unit_a.pk,
            "level": "general",
            "category": "storage",
            "description": "库房防盗门锁损坏",
        },
        "json",
    )
    assert created.status_code == 201, created.content
    hazard = Hazard.objects.get(pk=created.json()["id"])
    assert county.get(url(hazard, "acceptance-record")).status_code == 409

    started = unit.post(url(hazard, "start"), {}, "json")
    assert started.status_code == 200, started.content
    assert started.json()["status"] == "rectifying"

    handed_in = unit.post(
        url(hazard, "submit-rectification"),
        {"note": "已更换防盗门锁", "files": [photo(), photo("after.png")]},
        format="multipart",
    )
    assert handed_in.status_code == 200, handed_in.content
    body = handed_in.json()
    assert body["status"] == "awaiting_acceptance"
    assert body["rectification_note"] == "已更换防盗门锁"
    assert body["rectified_on"] == timezone.localdate().isoformat()
    assert [a["stage"] for a in body["attachments"]] == ["rectification", "rectification"]
    assert body["attachments"][0]["kind"] == "photo"
    assert body["allowed_actions"] == []  # the bureau decides now

    # The file is served to whoever sees the hazard, as what its content is.
    served = county.get(body["attachments"][0]["url"])
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content).startswith(b"\x89PNG")
    assert api(world.county_b).get(body["attachments"][0]["url"]).status_code == 404

    # The unit may not accept what the bureau found: 403 with the service's reason.
    refused = unit.post(url(hazard, "accept"), {"opinion": "自查合格"}, "json")
    assert refused.status_code == 403
    assert refused["Content-Type"] == PROBLEM
    assert "supervising bureau" in refused.json()["detail"]

    assert "accept" in county.get(url(hazard)).json()["allowed_actions"]
    accepted = county.post(url(hazard, "accept"), {"opinion": "现场验收合格"}, "json")
    assert accepted.status_code == 200, accepted.content
    body = accepted.json()
    assert body["status"] == "closed"
    assert body["accepted_by"] == world.county_a.pk
    assert body["accepted_by_name"] == str(world.county_a)
    assert body["acceptance_opinion"] == "现场验收合格"
    assert body["allowed_actions"] == []
    assert [e["action"] for e in body["events"]] == [
        "created",
        "start",
        "submit_rectification",
        "accept",
    ]
    assert body["events"][-1]["from_status"] == "awaiting_acceptance"
    assert body["events"][-1]["to_status"] == "closed"

    record = unit.get(url(hazard, "acceptance-record"))
    assert record.status_code == 200
    assert record["Content-Type"] == "application/pdf"
    assert record.content.startswith(b"%PDF")


def test_accept_with_files_as_multipart(world: World, api: Any) -> None:
    hazard = awaiting(world)
    response = api(world.county_a).post(
        url(hazard, "accept"), {"opinion": "合格", "files": [photo()]}, format="multipart"
    )
    assert response.status_code == 200, response.content
    assert [a["stage"] for a in response.json()["attachments"]] == ["acceptance"]


def test_major_hazard_needs_a_plan_to_start(world: World, api: Any) -> None:
    hazard = HazardFactory.create(enterprise=world.unit_a, level="major")
    unit = api(world.unit_a_officer)
    response = unit.post(url(hazard, "start"), {}, "json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {
        "plan.measures",
        "plan.funds",
        "plan.deadline",
        "plan.responsible_person",
        "plan.emergency_measures",
    } <= set(errors)
    # A partial plan names what is missing, in the same way.
    partial = unit.post(url(hazard, "start"), {"plan": {"measures": "更换"}}, "json")
    assert "plan.funds" in partial.json()["errors"]
    # Funds are a decimal string, never a JSON number.
    number = unit.post(url(hazard, "start"), {"plan": {**PLAN, "funds": 12000}}, "json")
    assert "plan.funds" in number.json()["errors"]
    # Handing in straight away is not a step a major hazard has.
    skip = unit.post(url(hazard, "submit-rectification"), {"note": "x"}, "json")
    assert skip.status_code == 409
    assert set(skip.json()["allowed"]) == {"start", "extend", "cancel"}

    started = unit.post(url(hazard, "start"), {"plan": PLAN}, "json")
    assert started.status_code == 200, started.content
    body = started.json()
    assert body["status"] == "rectifying"
    assert body["plan"]["funds"] == "12000.00"
    assert body["plan"]["measures"] == "更换防盗门"
    assert body["plan"]["objective"] == "恢复库房防盗功能"


def test_plan_saved_on_its_own(world: World, api: Any) -> None:
    hazard = HazardFactory.create(enterprise=world.unit_a, level="major")
    unit = api(world.unit_a_officer)
    put = unit.put(url(hazard, "plan"), PLAN, "json")
    assert put.status_code == 200, put.content
    assert put.json()["plan"]["responsible_person"] == "安全科 王五"
    again = unit.post(url(hazard, "plan"), {**PLAN, "funds": "15000.50"}, "json")
    assert again.json()["plan"]["funds"] == "15000.50"
    assert unit.post(url(hazard, "start"), {}, "json").json()["status"] == "rectifying"
    # The bureau does not write the unit's plan.
    refused = api(world.county_a).put(url(hazard, "plan"), PLAN, "json")
    assert refused.status_code == 403
    assert "principal or safety officer" in refused.json()["detail"]


def test_reject_sends_back_to_rectifying(world: World, api: Any) -> None:
    hazard = awaiting(world)
    county = api(world.county_a)
    assert county.post(url(hazard, "reject"), {"reason": "  "}, "json").status_code == 400
    response = county.post(url(hazard, "reject"), {"reason": "照片不清晰"}, "json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "rectifying"
    assert body["events"][-1]["action"] == "reject"
    assert body["events"][-1]["note"] == "照片不清晰"


def test_extensions_beyond_the_free_one_need_the_city(world: World, api: Any) -> None:
    hazard = HazardFactory.create(enterprise=world.unit_a)
    county, city = api(world.county_a), api(world.city)
    first_deadline = hazard.deadline + timedelta(days=10)
    first = county.post(
        url(hazard, "extend"),
        {"reason": "门锁需定制", "deadline": first_deadline.isoformat()},
        "json",
    )
    assert first.status_code == 200, first.content
    assert first.json()["extension_count"] == 1
    assert first.json()["deadline"] == first_deadline.isoformat()
    assert "extend" not in first.json()["allowed_actions"]  # for the county, now

    second = county.post(url(hazard, "extend"), {"reason": "再延", "working_days": 30}, "json")
    assert second.status_code == 403
    assert "city bureau" in second.json()["detail"]

    assert "extend" in city.get(url(hazard)).json()["allowed_actions"]
    by_city = city.post(url(hazard, "extend"), {"reason": "市局批准", "working_days": 30}, "json")
    assert by_city.status_code == 200, by_city.content
    body = by_city.json()
    assert body["extension_count"] == 2
    assert body["events"][-1]["data"]["city_approved"] is True
    assert body["events"][-1]["data"]["from"] == first_deadline.isoformat()


def test_extend_input(world: World, api: Any) -> None:
    hazard = HazardFactory.create(enterprise=world.unit_a)
    county = api(world.county_a)
    nothing = county.post(url(hazard, "extend"), {"reason": "x"}, "json")
    assert "deadline" in nothing.json()["errors"]
    earlier = county.post(
        url(hazard, "extend"),
        {"reason": "x", "deadline": (hazard.deadline - timedelta(days=1)).isoformat()},
        "json",
    )
    assert "deadline" in earlier.json()["errors"]
    text = county.post(url(hazard, "extend"), {"reason": "x", "working_days": "5"}, "json")
    assert "working_days" in text.json()["errors"]
    assert (
        county.post(url(hazard, "extend"), {"reason": 5, "working_days": 5}, "json").status_code
        == 400
    )


def test_cancel_with_reason(world: World, api: Any) -> None:
    hazard = HazardFactory.create(enterprise=world.unit_a)
    county = api(world.county_a)
    assert county.post(url(hazard, "cancel"), {}, "json").status_code == 400
    assert (
        api(world.unit_a_officer).post(url(hazard, "cancel"), {"reason": "x"}, "json").status_code
        == 403
    )
    response = county.post(url(hazard, "cancel"), {"reason": "重复录入"}, "json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["cancel_reason"]) == (
        "cancelled",
        "重复录入",
    )


def test_disallowed_steps_answer_409_with_the_allowed_ones(world: World, api: Any) -> None:
    hazard = HazardFactory.create(enterprise=world.unit_a)
    response = api(world.county_a).post(url(hazard, "accept"), {}, "json")
    assert response.status_code == 409
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == 409
    assert set(body["allowed"]) == {"start", "submit-rectification", "extend", "cancel"}
    assert body["current_status"] == "open"

    closed = HazardFactory.create(enterprise=world.unit_a, status="closed")
    unit = api(world.unit_a_officer)
    evidence = unit.post(
        url(closed, "submit-rectification"),
        {"note": "补充", "files": [photo()]},
        format="multipart",
    )
    assert evidence.status_code == 409
    assert evidence.json()["allowed"] == []
    files = unit.post(url(closed, "attachments"), {"files": [photo()]}, format="multipart")
    assert files.status_code == 409
    assert files.json()["allowed"] == []
    assert HazardAttachment.objects.count() == 0


def test_unit_accepts_its_own_general_hazard(world: World, api: Any) -> None:
    hazard = awaiting(world, source="self_inspection")
    unit = api(world.unit_a_officer)
    assert "accept" in unit.get(url(hazard)).json()["allowed_actions"]
    response = unit.post(url(hazard, "accept"), {"opinion": "自查验收合格"}, "json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "closed"
    # …but not a major one, nor may an employee.
    major = HazardFactory.create(
        enterprise=world.unit_a,
        source="self_inspection",
        level="major",
        status="awaiting_acceptance",
    )
    assert unit.post(url(major, "accept"), {}, "json").status_code == 403
    employee = api(world.unit_a_employee).post(url(hazard, "start"), {}, "json")
    assert employee.status_code == 403


def test_other_county_sees_nothing(world: World, api: Any) -> None:
    hazard = awaiting(world)
    county_b = api(world.county_b)
    assert county_b.get(url(hazard)).status_code == 404
    assert county_b.post(url(hazard, "accept"), {}, "json").status_code == 404
    assert county_b.post(url(hazard, "reject"), {"reason": "x"}, "json").status_code == 404
    assert county_b.get(url(hazard, "acceptance-record")).status_code == 404
    assert api(world.unit_b_officer).post(url(hazard, "start"), {}, "json").status_code == 404
    assert api(world.partner_user).get(url(hazard)).status_code == 404


# --- files --------------------------------------------------------------------------------------
def test_attachments_added_and_checked(world: World, api: Any, settings: Any) -> None:
    hazard = HazardFactory.create(enterprise=world.unit_a)
    unit = api(world.unit_a_officer)
    added = unit.post(
        url(hazard, "attachments"),
        {"files": [photo(), SimpleUploadedFile("plan.pdf", b"%PDF-1.4\n%%EOF\n")]},
        format="multipart",
    )
    assert added.status_code == 200, added.content
    kinds = [(a["stage"], a["kind"]) for a in added.json()["attachments"]]
    assert kinds == [("finding", "photo"), ("finding", "document")]
    pdf = unit.get(added.json()["attachments"][1]["url"])
    assert pdf["Content-Type"] == "application/pdf"
    assert "attachment" in pdf["Content-Disposition"]

    not_image = unit.post(
        url(hazard, "attachments"),
        {"files": [photo("x.png", b"GIF89a" + b"\x00" * 20)]},
        format="multipart",
    )
    assert not_image.status_code == 400
    assert "files[0]" in not_image.json()["errors"]
    settings.MAX_PHOTO_BYTES = 10
    too_big = unit.post(
        url(hazard, "submit-rectification"),
        {"note": "已整改", "files": [photo()]},
        format="multipart",
    )
    assert too_big.status_code == 400
    assert "files[0]" in too_big.json()["errors"]
    hazard.refresh_from_db()
    assert hazard.status == "open"  # a bad file rejects the whole step
    assert HazardAttachment.objects.count() == 2

    assert unit.post(url(hazard, "attachments"), {}, format="multipart").status_code == 400
    json_files = unit.post(url(hazard, "attachments"), {"files": []}, "json")
    assert json_files.status_code == 415
    missing = reverse("api:hazard-attachment-file", args=[hazard.pk, 999999])
    assert unit.get(missing).status_code == 404
    assert (
        api(world.unit_a_employee)
        .post(url(hazard, "attachments"), {"files": [photo()]}, format="multipart")
        .status_code
        == 403
    )


def test_json_steps_take_json_only(world: World, api: Any) -> None:
    hazard = awaiting(world)
    response = api(world.county_a).post(url(hazard, "reject"), {"reason": "x"}, format="multipart")
    assert response.status_code == 415
    assert response["Content-Type"] == PROBLEM


# --- follow-up ----------------------------------------------------------------------------------
def test_follow_up_inspection(world: World, api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    checklist = make_checklist()
    if importlib.util.find_spec("weibao.inspections.checklists") is None:
        # Checklist selection lands in its own module; until then hand the service this one.
        stand_in = types.ModuleType("weibao.inspections.checklists")
        stand_in.current_checklist_for = lambda unit: checklist  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "weibao.inspections.checklists", stand_in)
    hazard = HazardFactory.create(
        enterprise=world.unit_a, deadline=timezone.localdate() - timedelta(days=1)
    )
    assert api(world.unit_a_officer).post(url(hazard, "follow-up"), {}, "json").status_code == 403
    county = api(world.county_a)
    response = county.post(url(hazard, "follow-up"), {}, "json", HTTP_IDEMPOTENCY_KEY="fu-1")
    assert response.status_code == 201, response.content
    inspection = Inspection.objects.get(pk=response.json()["inspection"])
    assert inspection.follow_up_of_id == hazard.pk
    assert inspection.enterprise_id == world.unit_a.pk
    replay = county.post(url(hazard, "follow-up"), {}, "json", HTTP_IDEMPOTENCY_KEY="fu-1")
    assert replay.json() == response.json()
    assert Inspection.objects.count() == 1
    event = county.get(url(hazard)).json()["events"][-1]
    assert (event["action"], event["data"]) == ("follow_up", {"inspection": inspection.pk})
    past = county.post(url(hazard, "follow-up"), {"planned_on": "2000-01-01"}, "json")
    assert "planned_on" in past.json()["errors"]
    closed = HazardFactory.create(enterprise=world.unit_a, status="closed")
    assert county.post(url(closed, "follow-up"), {}, "json").status_code == 409


def test_acceptance_record_by_its_type(world: World, api: Any) -> None:
    hazard = HazardFactory.create(enterprise=world.unit_a, status="closed")
    client = api(world.county_a)
    record = client.get(url(hazard, "acceptance-record"), HTTP_ACCEPT="application/pdf")
    assert record.status_code == 200
    assert record["Content-Type"] == "application/pdf"
    still_open = HazardFactory.create(enterprise=world.unit_a)
    refused = client.get(url(still_open, "acceptance-record"), HTTP_ACCEPT="application/pdf")
    assert refused.status_code == 409
    assert refused["Content-Type"] == PROBLEM
    assert refused.json()["status"] == 409
