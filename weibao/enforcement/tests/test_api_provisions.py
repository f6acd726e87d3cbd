"""Legal provisions over the API: reference data every signed-in user reads; system administrators
add, change and verify them, and a change of legal content makes a provision unverified again."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from weibao.enforcement.models import LegalProvision
from weibao.tests.factories import World, provision

pytestmark = pytest.mark.django_db

LIST = reverse("api:legal-provision-list")
PROBLEM = "application/problem+json"
SHIPPED = 9


def detail(p: LegalProvision) -> str:
    return reverse("api:legal-provision-detail", args=[p.pk])


def codes(response: Any) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["code"] for row in response.json()["results"]}


def payload(**extra: Any) -> dict[str, Any]:
    return {
        "code": "cer-51-test",
        "law": "《民用爆炸物品安全管理条例》",
        "law_en": "Regulations on the Safety Administration of Civil Explosives",
        "article": "第五十一条",
        "title": "测试条款",
        "title_en": "Test provision",
        "violation": "测试违法行为",
        "allowed_kinds": ["warning", "fine"],
        "fine_min": "1000.00",
        "fine_max": "5000.00",
        **extra,
    }


def test_every_signed_in_user_reads_them(world: World, api: Any) -> None:
    everyone = (
        world.city,
        world.county_a,
        world.county_b,
        world.unit_a_employee,
        world.partner_user,
        world.admin,
    )
    for user in everyone:
        client = api(user)
        assert len(codes(client.get(LIST))) == SHIPPED, user
        assert client.get(detail(provision())).status_code == 200
    anonymous = api().get(LIST)
    assert anonymous.status_code == 401
    assert anonymous["Content-Type"] == PROBLEM
    assert api().get(detail(provision())).status_code == 401
    assert (
        api(world.county_a).get(reverse("api:legal-provision-detail", args=[999999])).status_code
        == 404
    )


def test_row_shape(world: World, api: Any) -> None:
    row = api(world.county_a).get(detail(provision("cer-49-storage"))).json()
    assert row["code"] == "cer-49-storage"
    assert row["article"] == "第四十九条"
    assert row["article_label"].startswith("第四十九条")
    assert row["law_display"] == row["law_en"]  # English asked for
    assert row["allowed_kinds"] == [
        "warning",
        "fine",
        "suspension",
        "permit_suspension",
        "permit_revocation",
    ]
    assert row["allowed_kinds_display"][0] == "Warning"
    assert (row["fine_min"], row["fine_max"]) == ("50000.00", "200000.00")
    assert (row["person_fine_min"], row["person_fine_max"]) == (None, None)
    assert (row["verified"], row["verified_by"], row["verified_at"]) == (False, None, None)
    assert row["is_active"] is True
    chinese = api(world.county_a, "zh-hans").get(detail(provision("cer-49-storage"))).json()
    assert chinese["law_display"] == chinese["law"]


def test_filters_and_search(world: World, api: Any) -> None:
    client = api(world.county_a)
    revocation = codes(client.get(LIST, {"kind": "permit_revocation"}))
    assert revocation == {"cer-48-blasting", "cer-49-storage", "cer-50-loss"}
    person = codes(client.get(LIST, {"kind": "person_fine"}))
    assert person == {"wsl-2021-101-5-overdue", "wsl-2021-102-refusal"}
    work_safety = codes(client.get(LIST, {"law": "安全生产法"}))
    assert work_safety and all(code.startswith("wsl-") for code in work_safety)
    assert codes(client.get(LIST, {"law": "Work Safety"})) == work_safety
    assert len(codes(client.get(LIST, {"verified": "false"}))) == SHIPPED
    assert codes(client.get(LIST, {"verified": "true"})) == set()
    assert len(codes(client.get(LIST, {"active": "true"}))) == SHIPPED
    assert codes(client.get(LIST, {"search": "cer-50"})) == {"cer-50-loss"}
    assert client.get(LIST, {"kind": "jail"}).status_code == 400
    assert client.get(LIST, {"verified": "maybe"}).status_code == 400
    assert client.get(LIST, {"ordering": "violation"}).status_code == 400


def test_list_queries_do_not_grow(world: World, api: Any) -> None:
    client = api(world.county_a)
    client.get(LIST)
    with CaptureQueriesContext(connection) as few:
        client.get(LIST)
    for n in range(10):
        LegalProvision.objects.create(
            code=f"extra-{n}",
            law="法",
            article=f"第{n}条",
            title="t",
            violation="v",
            allowed_kinds=["warning"],
            verified=True,
            verified_by=world.admin,
        )
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(LIST).json()["results"]) == SHIPPED + 10
    assert len(many) == len(few) <= 3


# --- writes -------------------------------------------------------------------------------------
def test_admin_adds_a_provision_unverified(world: World, api: Any) -> None:
    response = api(world.admin).post(LIST, payload(verified=True), "json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["code"] == "cer-51-test"
    assert body["verified"] is False  # whatever the request says
    assert body["allowed_kinds"] == ["warning", "fine"]
    assert body["fine_max"] == "5000.00"
    again = api(world.admin).post(LIST, payload(), "json")
    assert again.status_code == 400
    assert "code" in again.json()["errors"]


def test_only_an_administrator_writes(world: World, api: Any) -> None:
    p = provision()
    for user in (world.city, world.county_a, world.unit_a_principal, world.partner_user):
        client = api(user)
        created = client.post(LIST, payload(), "json")
        assert created.status_code == 403, user
        assert created["Content-Type"] == PROBLEM
        assert "system administrator" in created.json()["detail"]
        assert client.patch(detail(p), {"title": "改"}, "json").status_code == 403
        assert client.post(reverse("api:legal-provision-verify", args=[p.pk])).status_code == 403
    assert api().post(LIST, payload(), "json").status_code == 401
    assert LegalProvision.objects.count() == SHIPPED
    p.refresh_from_db()
    assert (p.title, p.verified) != ("改", True)


def test_input_is_checked_at_the_edge(world: World, api: Any) -> None:
    client = api(world.admin)
    cases = {
        "allowed_kinds[0]": payload(allowed_kinds=["jail"]),
        "allowed_kinds": payload(allowed_kinds=["fine", "fine"]),
        "fine_min": payload(fine_min="-1.00"),
        "fine_max": payload(fine_max=5000),
        "code": payload(code="not a slug"),
        "law": payload(law=5),
    }
    for field, body in cases.items():
        response = client.post(LIST, body, "json")
        assert response.status_code == 400, field
        assert field in response.json()["errors"], (field, response.json())
    empty = client.post(LIST, payload(allowed_kinds=[]), "json")
    assert "allowed_kinds" in empty.json()["errors"]
    # The model's own rules: a fine needs its maximum, ranges in order, amounts only for fines.
    no_max = client.post(LIST, payload(fine_max=None), "json")
    assert "fine_max" in no_max.json()["errors"]
    upside_down = client.post(LIST, payload(fine_min="9000.00"), "json")
    assert "fine_max" in upside_down.json()["errors"]
    stray = client.post(LIST, payload(person_fine_max="100.00"), "json")
    assert "person_fine_max" in stray.json()["errors"]
    assert LegalProvision.objects.count() == SHIPPED


def test_verify_then_a_legal_change_unverifies(world: World, api: Any) -> None:
    p = provision("cer-50-loss")
    admin = api(world.admin)
    verified = admin.post(reverse("api:legal-provision-verify", args=[p.pk]))
    assert verified.status_code == 200, verified.content
    body = verified.json()
    assert (body["verified"], body["verified_by"]) == (True, world.admin.pk)
    assert body["verified_by_name"] == str(world.admin)
    assert body["verified_at"]
    # The short title is not legal content: still verified.
    title = admin.patch(detail(p), {"title_en": "Loss or theft"}, "json")
    assert title.status_code == 200, title.content
    assert (title.json()["title_en"], title.json()["verified"]) == ("Loss or theft", True)
    # The same maximum again changes nothing; a new one must be checked again.
    same = admin.patch(detail(p), {"fine_max": "100000.00"}, "json")
    assert same.json()["verified"] is True
    changed = admin.patch(detail(p), {"fine_max": "120000.00"}, "json")
    assert changed.status_code == 200, changed.content
    assert (changed.json()["fine_max"], changed.json()["verified"]) == ("120000.00", False)
    assert changed.json()["verified_by"] is None
    refused = admin.patch(detail(p), {"fine_min": "200000.00"}, "json")
    assert refused.status_code == 400
    assert "fine_max" in refused.json()["errors"]
    p.refresh_from_db()
    assert p.fine_min == 20000
    assert admin.put(detail(p), payload(), "json").status_code == 405
    assert admin.delete(detail(p)).status_code == 405
    retired = admin.patch(detail(p), {"is_active": False}, "json")
    assert retired.json()["is_active"] is False
    assert "cer-50-loss" not in codes(admin.get(LIST, {"active": "true"}))
