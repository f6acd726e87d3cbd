"""The case procedure over the API: every step with its document, each refusal (400, 403, 404,
409) with nothing written, payments, files, the permit in the registry and the quality review."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from weibao.enforcement.models import Case, CaseDocument, CaseEvent, CaseReview, PenaltyItem
from weibao.registry.models import Enterprise
from weibao.tests.factories import (
    CaseFactory,
    HazardFactory,
    PermitFactory,
    World,
    case_at,
    provision,
)

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PROBLEM = "application/problem+json"
TODAY = timezone.localdate


def url(case: Case, step: str = "") -> str:
    if not step:
        return reverse("api:case-detail", args=[case.pk])
    return reverse(f"api:case-{step}", args=[case.pk])


def scan(name: str = "waiver.pdf", body: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, body, content_type="application/pdf")


def fine(amount: str, code: str = "wsl-2021-102", **extra: Any) -> dict[str, Any]:
    return {"provision": provision(code).pk, "kind": "fine", "amount": amount, **extra}


def snapshot(case: Case) -> tuple[Any, ...]:
    """What a refused step must leave untouched."""
    case.refresh_from_db()
    return (
        case.status,
        case.number,
        case.deadline,
        case.defence_waived,
        CaseEvent.objects.filter(case=case).count(),
        CaseDocument.objects.filter(case=case).count(),
        list(PenaltyItem.objects.filter(case=case).values_list("kind", "amount", "paid_on")),
    )


def download(client: Any, document: dict[str, Any]) -> bytes:
    response = client.get(document["url"])
    assert response.status_code == 200, document
    assert response["Content-Type"] == document["content_type"]
    return b"".join(response.streaming_content)


# --- the whole procedure ------------------------------------------------------------------------
def test_full_procedure_through_the_api(world: World, api: Any) -> None:
    county, city, unit = api(world.county_a), api(world.city), api(world.unit_a_officer)
    hazard = HazardFactory.create(enterprise=world.unit_a, level="major")
    created = county.post(
        reverse("api:case-list"),
        {
            "enterprise": world.unit_a.pk,
            "title": "未采取措施消除事故隐患",
            "facts": "经查，该单位重大事故隐患逾期未整改。",
            "officers": [world.county_a.pk, world.county_a2.pk],
            "provisions": [provision().pk],
            "hazards": [hazard.pk],
        },
        "json",
    )
    assert created.status_code == 201, created.content
    case = Case.objects.get(pk=created.json()["id"])
    assert unit.get(url(case)).status_code == 404  # a proposal is the bureau's business

    # 立案, with the approval form issued and downloadable as stored.
    registered = county.post(url(case, "register"), {"note": "同意立案"}, "json")
    assert registered.status_code == 200, registered.content
    body = registered.json()
    assert body["status"] == "registered"
    assert body["number"] and body["reference"] == body["number"]
    assert body["registered_on"] == TODAY().isoformat()
    assert body["decision_due"] == body["deadline"]
    assert [d["kind"] for d in body["documents"]] == ["registration_approval"]
    stored = CaseDocument.objects.get(pk=body["documents"][0]["id"])
    assert download(county, body["documents"][0]) == stored.file.open("rb").read()
    assert body["events"][-1]["document"] == stored.pk
    assert unit.get(url(case)).status_code == 200  # registered: the unit sees its case
    assert unit.get(url(case)).json()["allowed_actions"] == []

    investigating = county.post(url(case, "investigate"), {}, "json")
    assert investigating.json()["status"] == "investigating"

    # 告知: 30,000 yuan is a fine large enough for a hearing.
    notified = county.post(url(case, "notify"), {"items": [fine("30000.00")]}, "json")
    assert notified.status_code == 200, notified.content
    body = notified.json()
    assert body["status"] == "notified"
    assert body["hearing_available"] is True
    assert body["defence_deadline"] > TODAY().isoformat()
    penalty = body["penalties"][0]
    assert (penalty["kind"], penalty["amount"], penalty["paid_on"]) == ("fine", "30000.00", None)
    assert penalty["provision"] == provision().pk
    assert "penalty_notice" in [d["kind"] for d in body["documents"]]
    assert "defence" in body["allowed_actions"]
    assert "decide" not in body["allowed_actions"]  # the defence period runs

    # A decision before the defence period ends (no waiver): 409, nothing written.
    before = snapshot(case)
    early = county.post(url(case, "decide"), {}, "json")
    assert early.status_code == 409
    assert early["Content-Type"] == PROBLEM
    assert early.json()["current_status"] == "notified"
    assert "decide" in early.json()["allowed"]
    assert body["defence_deadline"] in early.json()["detail"]
    assert snapshot(case) == before

    # The written waiver lets the decision follow at once.
    waived = county.post(
        url(case, "defence"), {"waived": True, "files": [scan()]}, format="multipart"
    )
    assert waived.status_code == 200, waived.content
    assert waived.json()["defence_waived"] is True
    assert "decide" in waived.json()["allowed_actions"]
    decided = county.post(url(case, "decide"), {"note": "依法决定"}, "json")
    assert decided.status_code == 200, decided.content
    body = decided.json()
    assert body["status"] == "decided"
    assert body["payment_due"] == body["deadline"]
    assert "penalty_decision" in [d["kind"] for d in body["documents"]]
    assert body["allowed_actions"] == ["payments", "files"]

    # Execution needs the fine paid.
    unpaid = county.post(url(case, "execute"), {}, "json")
    assert unpaid.status_code == 409
    paid = county.post(
        url(case, "payments"),
        {
            "item": penalty["id"],
            "paid_on": TODAY().isoformat(),
            "receipt_number": "FS-2025-001",
            "files": [scan("receipt.pdf")],
        },
        format="multipart",
    )
    assert paid.status_code == 200, paid.content
    body = paid.json()
    assert body["penalties"][0]["paid_on"] == TODAY().isoformat()
    assert body["penalties"][0]["receipt_number"] == "FS-2025-001"
    assert "payment_receipt" in [d["kind"] for d in body["documents"]]
    again = county.post(
        url(case, "payments"),
        {"item": penalty["id"], "paid_on": TODAY().isoformat(), "receipt_number": "FS-2"},
        "json",
    )
    assert again.status_code == 409

    assert county.post(url(case, "execute"), {}, "json").json()["status"] == "executed"
    closed = county.post(url(case, "close"), {"note": "结案"}, "json")
    assert closed.status_code == 200, closed.content
    body = closed.json()
    assert body["status"] == "closed"
    assert body["deadline"] is None
    assert "file_cover" in [d["kind"] for d in body["documents"]]
    assert [e["action"] for e in body["events"]] == [
        "created",
        "register",
        "investigate",
        "notify",
        "defence",
        "decide",
        "pay",
        "execute",
        "close",
    ]
    assert body["allowed_actions"] == []
    assert "review" in city.get(url(case)).json()["allowed_actions"]

    # 评查: a handling officer may not review their own case; the city may, once.
    review = {
        "facts_clear": True,
        "evidence_sufficient": True,
        "procedure_lawful": True,
        "basis_correct": True,
        "penalty_appropriate": True,
        "documents_complete": True,
        "score": 95,
        "comments": "精品案件",
    }
    own = county.post(url(case, "review"), review, "json")
    assert own.status_code == 403
    assert "city officer" in own.json()["detail"]
    reviewed = city.post(url(case, "review"), review, "json")
    assert reviewed.status_code == 201, reviewed.content
    assert (reviewed.json()["grade"], reviewed.json()["case"]) == ("excellent", case.pk)
    assert city.post(url(case, "review"), review, "json").status_code == 409
    assert city.get(url(case)).json()["review"]["score"] == 95
    assert CaseReview.objects.count() == 1


# --- each refusal -------------------------------------------------------------------------------
def test_skipping_a_step_is_a_409_naming_the_allowed_ones(world: World, api: Any) -> None:
    case = CaseFactory.create(
        enterprise=world.unit_a,
        agency=world.county_a_bureau,
        officers=[world.county_a, world.county_a2],
        provisions=[provision()],
    )
    county = api(world.county_a)
    before = snapshot(case)
    for step, body in (
        ("investigate", {}),
        ("notify", {"items": [fine("1000.00")]}),
        ("decide", {}),
        ("execute", {}),
        ("close", {}),
    ):
        response = county.post(url(case, step), body, "json")
        assert response.status_code == 409, step
        assert response["Content-Type"] == PROBLEM
        problem = response.json()
        assert problem["status"] == 409
        assert set(problem["allowed"]) == {"register", "drop"}
        assert problem["current_status"] == "proposed"
    assert (
        county.post(
            url(case, "payments"),
            {"item": 1, "paid_on": TODAY().isoformat(), "receipt_number": "x"},
            "json",
        ).status_code
        == 400
    )  # no such fine in sight
    assert county.post(url(case, "defence"), {"statement": "x"}, "json").status_code == 409
    assert snapshot(case) == before


def test_fine_above_the_maximum_is_a_400_naming_the_item(world: World, api: Any) -> None:
    case = case_at(world, "investigating")
    county = api(world.county_a)
    before = snapshot(case)
    above = county.post(url(case, "notify"), {"items": [fine("100.00"), fine("60000.00")]}, "json")
    assert above.status_code == 400
    assert above["Content-Type"] == PROBLEM
    errors = above.json()["errors"]
    assert list(errors) == ["items[1].amount"]
    assert "50,000.00" in errors["items[1].amount"][0]
    assert snapshot(case) == before


def test_penalty_kind_the_provision_does_not_allow(world: World, api: Any) -> None:
    case = case_at(world, "investigating")
    county = api(world.county_a)
    before = snapshot(case)
    warning = county.post(
        url(case, "notify"),
        {"items": [{"provision": provision().pk, "kind": "warning"}]},
        "json",
    )
    assert warning.status_code == 400
    assert "items[0].kind" in warning.json()["errors"]
    # A provision the case does not apply.
    other = county.post(url(case, "notify"), {"items": [fine("20000.00", "cer-50-loss")]}, "json")
    assert "items[0].provision" in other.json()["errors"]
    # At the edge: amounts are non-negative decimal strings, kinds are known codes.
    edge = county.post(
        url(case, "notify"),
        {
            "items": [
                fine("-1.00"),
                {**fine("1.00"), "amount": 1000},
                {**fine("1.00"), "kind": "jail"},
                {**fine("1.00"), "provision": "1"},
            ]
        },
        "json",
    )
    assert edge.status_code == 400
    assert {
        "items[0].amount",
        "items[1].amount",
        "items[2].kind",
        "items[3].provision",
    } <= set(edge.json()["errors"])
    empty = county.post(url(case, "notify"), {"items": []}, "json")
    assert "items" in empty.json()["errors"]
    assert snapshot(case) == before


def test_duplicated_case_number_is_a_400_on_number(world: World, api: Any) -> None:
    first = case_at(world, "registered")
    second = case_at(world, "proposed")
    before = snapshot(second)
    response = api(world.county_a).post(url(second, "register"), {"number": first.number}, "json")
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert list(response.json()["errors"]) == ["number"]
    assert first.number in response.json()["errors"]["number"][0]
    assert snapshot(second) == before
    typed = api(world.county_a).post(
        url(second, "register"), {"number": "珠公(治)罚立字〔2025〕7号"}, "json"
    )
    assert typed.status_code == 200, typed.content
    assert typed.json()["number"] == "珠公(治)罚立字〔2025〕7号"


def test_register_needs_two_officers_facts_and_a_provision(world: World, api: Any) -> None:
    case = CaseFactory.create(
        enterprise=world.unit_a, agency=world.county_a_bureau, officers=[world.county_a], facts=""
    )
    before = snapshot(case)
    response = api(world.county_a).post(url(case, "register"), {}, "json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"officers", "facts", "provisions"}
    assert snapshot(case) == before


def test_other_county_sees_nothing_and_acts_on_nothing(world: World, api: Any) -> None:
    case = case_at(world, "notified")
    document = case.documents.first()
    assert document is not None
    county_b = api(world.county_b)
    before = snapshot(case)
    assert county_b.get(url(case)).status_code == 404
    assert county_b.patch(url(case), {"facts": "x"}, "json").status_code == 404
    for step, body in (
        ("register", {}),
        ("investigate", {}),
        ("notify", {"items": [fine("1.00")]}),
        ("defence", {"statement": "x"}),
        ("hearing", {"held_on": TODAY().isoformat(), "record": "x"}),
        ("decide", {}),
        ("execute", {}),
        ("close", {}),
        ("drop", {"reason": "x"}),
    ):
        response = county_b.post(url(case, step), body, "json")
        assert response.status_code == 404, step
        assert response["Content-Type"] == PROBLEM
    assert (
        county_b.post(url(case, "files"), {"files": [scan()]}, format="multipart").status_code
        == 404
    )
    doc_url = reverse("api:case-document", args=[case.pk, document.pk])
    assert county_b.get(doc_url).status_code == 404
    assert api(world.partner_user).get(doc_url).status_code == 404
    assert (
        api(world.unit_b_officer).post(url(case, "drop"), {"reason": "x"}, "json").status_code
        == 404
    )
    assert snapshot(case) == before


def test_unit_sees_but_cannot_act(world: World, api: Any) -> None:
    case = case_at(world, "notified")
    before = snapshot(case)
    for user in (world.unit_a_principal, world.unit_a_officer, world.unit_a_employee):
        client = api(user)
        assert client.get(url(case)).status_code == 200
        for step, body in (
            ("defence", {"statement": "我方已整改"}),
            ("decide", {}),
            ("drop", {"reason": "x"}),
        ):
            response = client.post(url(case, step), body, "json")
            assert response.status_code == 403, (user, step)
            assert response["Content-Type"] == PROBLEM
            assert "handling officers" in response.json()["detail"]
        assert (
            client.post(url(case, "files"), {"files": [scan()]}, format="multipart").status_code
            == 403
        )
    assert snapshot(case) == before


def test_partner_sees_no_case(world: World, api: Any) -> None:
    case = case_at(world, "registered")
    assert api(world.partner_user).get(url(case)).status_code == 404
    assert api(world.partner_user).post(url(case, "investigate"), {}, "json").status_code == 404


# --- defence, hearing, drop, files --------------------------------------------------------------
def test_hearing_requested_then_held_then_decided(world: World, api: Any) -> None:
    case = case_at(world, "notified")
    county = api(world.county_a)
    requested = county.post(
        url(case, "defence"), {"statement": "罚款过重", "hearing_requested": True}, "json"
    )
    assert requested.status_code == 200, requested.content
    body = requested.json()
    assert (body["hearing_requested"], body["defence_statement"]) == (True, "罚款过重")
    assert "hearing" in body["allowed_actions"]
    # As if the periods had run: the decision still waits for the hearing.
    past = TODAY() - timedelta(days=1)
    Case.objects.filter(pk=case.pk).update(defence_deadline=past, hearing_deadline=past)
    waiting = county.post(url(case, "decide"), {}, "json")
    assert waiting.status_code == 409
    assert "hearing" in waiting.json()["detail"]
    future = county.post(
        url(case, "hearing"),
        {"held_on": (TODAY() + timedelta(days=1)).isoformat(), "record": "x"},
        "json",
    )
    assert "held_on" in future.json()["errors"]
    held = county.post(
        url(case, "hearing"),
        {"held_on": TODAY().isoformat(), "record": "听证认定事实清楚", "files": [scan("h.pdf")]},
        format="multipart",
    )
    assert held.status_code == 200, held.content
    assert held.json()["hearing_held_on"] == TODAY().isoformat()
    assert "hearing_record" in [d["kind"] for d in held.json()["documents"]]
    # A lighter decision is allowed, a heavier one is not.
    heavier = county.post(url(case, "decide"), {"items": [fine("40000.00")]}, "json")
    assert heavier.status_code == 400
    assert "items" in heavier.json()["errors"]
    lighter = county.post(url(case, "decide"), {"items": [fine("20000.00")]}, "json")
    assert lighter.status_code == 200, lighter.content
    assert [p["amount"] for p in lighter.json()["penalties"]] == ["20000.00"]


def test_defence_input(world: World, api: Any) -> None:
    case = case_at(world, "notified")
    county = api(world.county_a)
    before = snapshot(case)
    nothing = county.post(url(case, "defence"), {}, "json")
    assert "statement" in nothing.json()["errors"]
    unwritten = county.post(url(case, "defence"), {"waived": True}, "json")
    assert "files" in unwritten.json()["errors"]
    text_bool = county.post(url(case, "defence"), {"waived": "true"}, "json")
    assert "waived" in text_bool.json()["errors"]
    bad_file = county.post(
        url(case, "defence"),
        {"waived": True, "files": [scan("w.pdf", b"GIF89a" + b"\x00" * 20)]},
        format="multipart",
    )
    assert bad_file.status_code == 400
    assert "files[0]" in bad_file.json()["errors"]
    assert snapshot(case) == before


def test_drop_with_a_reason(world: World, api: Any) -> None:
    case = case_at(world, "proposed")
    county = api(world.county_a)
    assert "reason" in county.post(url(case, "drop"), {"reason": " "}, "json").json()["errors"]
    dropped = county.post(url(case, "drop"), {"reason": "证据不足"}, "json")
    assert dropped.status_code == 200, dropped.content
    body = dropped.json()
    assert (body["status"], body["drop_reason"]) == ("dropped", "证据不足")
    assert body["dropped_on"] == TODAY().isoformat()
    assert body["allowed_actions"] == []
    decided = case_at(world, "decided")
    late = county.post(url(decided, "drop"), {"reason": "x"}, "json")
    assert late.status_code == 409
    assert late.json()["allowed"] == ["execute"]


def test_files_added_to_the_case_file(world: World, api: Any) -> None:
    case = case_at(world, "investigating")
    county = api(world.county_a)
    added = county.post(
        url(case, "files"),
        {"kind": "evidence", "files": [scan("record.pdf"), SimpleUploadedFile("p.png", PNG)]},
        format="multipart",
    )
    assert added.status_code == 200, added.content
    uploaded = [d for d in added.json()["documents"] if not d["generated"]]
    assert [(d["kind"], d["content_type"]) for d in uploaded] == [
        ("evidence", "application/pdf"),
        ("evidence", "image/png"),
    ]
    photo = county.get(uploaded[1]["url"])
    assert photo["Content-Type"] == "image/png"
    assert b"".join(photo.streaming_content) == PNG
    assert hashlib.sha256(PNG).hexdigest() == uploaded[1]["sha256"]
    before = snapshot(case)
    generated = county.post(
        url(case, "files"), {"kind": "penalty_decision", "files": [scan()]}, format="multipart"
    )
    assert "kind" in generated.json()["errors"]
    assert county.post(url(case, "files"), {}, format="multipart").status_code == 400
    assert county.post(url(case, "files"), {"files": []}, "json").status_code == 415
    one_bad = county.post(
        url(case, "files"),
        {"files": [scan(), scan("x.pdf", b"not a pdf")]},
        format="multipart",
    )
    assert "files[1]" in one_bad.json()["errors"]
    assert snapshot(case) == before
    closed = case_at(world, "closed")
    late = county.post(url(closed, "files"), {"files": [scan()]}, format="multipart")
    assert late.status_code == 409


def test_json_steps_take_json_only(world: World, api: Any) -> None:
    case = case_at(world, "registered")
    response = api(world.county_a).post(url(case, "investigate"), {"note": "x"}, format="multipart")
    assert response.status_code == 415
    assert response["Content-Type"] == PROBLEM


# --- penalties in the registry ------------------------------------------------------------------
def test_permit_revocation_changes_the_registry(world: World, api: Any) -> None:
    permit = PermitFactory.create(enterprise=world.unit_a)
    code = "cer-49-storage"
    case = CaseFactory.create(
        enterprise=world.unit_a,
        agency=world.county_a_bureau,
        officers=[world.county_a, world.county_a2],
        provisions=[provision(code)],
    )
    county = api(world.county_a)
    for step in ("register", "investigate"):
        assert county.post(url(case, step), {}, "json").status_code == 200
    missing_permit = county.post(
        url(case, "notify"),
        {"items": [{"provision": provision(code).pk, "kind": "permit_revocation"}]},
        "json",
    )
    assert "items[0].permit" in missing_permit.json()["errors"]
    notified = county.post(
        url(case, "notify"),
        {
            "items": [
                {"provision": provision(code).pk, "kind": "permit_revocation", "permit": permit.pk}
            ]
        },
        "json",
    )
    assert notified.status_code == 200, notified.content
    assert notified.json()["hearing_available"] is True
    county.post(url(case, "defence"), {"waived": True, "files": [scan()]}, format="multipart")
    decided = county.post(url(case, "decide"), {}, "json")
    assert decided.status_code == 200, decided.content
    assert decided.json()["penalties"][0]["permit_number"] == permit.number
    assert decided.json()["events"][-1]["data"]["registry"]
    # Nothing to pay: the case may be executed at once.
    assert "execute" in decided.json()["allowed_actions"]
    shown = county.get(reverse("api:permit-detail", args=[permit.pk])).json()
    assert (shown["status"], shown["status_display"]) == ("revoked", "Revoked")
    assert shown["suspended_until"] is None
    world.unit_a.refresh_from_db()
    assert world.unit_a.status == Enterprise.Status.REVOKED
