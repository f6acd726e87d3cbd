"""API: isolation of campaigns, inspections and conflicts; checklists as reference data.

Helpers here are shared by the other test_api_*.py modules of this app.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from weibao.accounts.models import User
from weibao.inspections import services
from weibao.inspections.models import Campaign, Checklist, Inspection, InspectorConflict
from weibao.registry.models import Enterprise
from weibao.tests.contracts import ScopedApiContract
from weibao.tests.factories import EnterpriseFactory, UserFactory, World, make_checklist

pytestmark = pytest.mark.django_db


# --- helpers (used by the other API test modules too) -------------------------------------------
def checklist() -> Checklist:
    """The current test checklist (one for a whole test, however many objects it makes)."""
    found = Checklist.objects.filter(code="test-storage", is_current=True).first()
    return found or make_checklist()


def draft(world: World, unit: Enterprise | None = None, **data: Any) -> Inspection:
    """A draft bureau inspection of unit A by the two county A officers."""
    return services.inspection_create(
        actor=world.county_a,
        data={
            "enterprise": unit or world.unit_a,
            "checklist": data.pop("checklist", None) or checklist(),
            "inspectors": [world.county_a2],
            **data,
        },
    )


def fill(actor: User, inspection: Inspection, results: list[str] | None = None) -> Inspection:
    """Answer every item (pass, unless `results` says otherwise) and sign."""
    answers = [
        {"item": a.item_id, "result": (results or [])[i] if results else "pass", "note": ""}
        for i, a in enumerate(inspection.answers.order_by("position"))
    ]
    return services.inspection_update(
        actor=actor,
        inspection=inspection,
        data={
            "inspected_on": timezone.localdate(),
            "representative_name": "李四",
            "signature_text": "李四",
            "conducted_by": "王安全" if inspection.is_self_inspection else "",
        },
        answers=answers,
    )


def submitted(world: World, results: list[str] | None = None, **data: Any) -> Inspection:
    inspection = fill(world.county_a, draft(world, **data), results)
    return services.inspection_submit(actor=world.county_a, inspection=inspection)


def self_inspection(actor: User, unit: Enterprise) -> Inspection:
    return services.inspection_create(
        actor=actor,
        data={"kind": "self_inspection", "enterprise": unit, "checklist": checklist()},
    )


def campaign(actor: User, **data: Any) -> Campaign:
    today = timezone.localdate()
    return services.campaign_create(
        actor=actor,
        data={
            "name": "节后复工复产安全检查",
            "kinds": ["explosives_storage", "explosives_sale"],
            "starts_on": today,
            "ends_on": today + timedelta(days=30),
            "spot_check_ratio": "0.200",
            **data,
        },
    )


def ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


# --- isolation contracts ------------------------------------------------------------------------
class TestCampaignIsolation(ScopedApiContract):
    list_route = "api:campaign-list"
    page_route = "campaign-list"
    detail_route = "api:campaign-detail"
    partner_sees_a = False
    unit_sees_a = True  # unit A is in county A: it sees the campaign it must self-inspect for

    def make(self, world: World, county: str) -> Campaign:
        return campaign(world.county_a if county == "430405" else world.county_b)


class TestInspectionIsolation(ScopedApiContract):
    list_route = "api:inspection-list"
    page_route = "inspection-list"
    detail_route = "api:inspection-detail"
    partner_sees_a = False
    unit_sees_a = True  # a submitted inspection of unit A

    def make(self, world: World, county: str) -> Inspection:
        if county == "430405":
            return submitted(world)
        return self_inspection(world.unit_b_officer, world.unit_b)


class TestConflictIsolation(ScopedApiContract):
    list_route = "api:inspector-conflict-list"
    detail_route = "api:inspector-conflict-detail"
    partner_sees_a = False

    def make(self, world: World, county: str) -> InspectorConflict:
        officer = world.county_a if county == "430405" else world.county_b
        return services.conflict_create(
            actor=officer,
            inspector=officer,
            enterprise=EnterpriseFactory.create(jurisdiction_id=county),
            reason="亲属在该单位任职",
        )


def test_city_campaign_reaches_every_county_and_its_units(world: World, api: Any) -> None:
    city = campaign(world.city, scope=[world.county_a_bureau.jurisdiction])
    county_a = campaign(world.county_a)
    url = reverse("api:campaign-list")
    assert ids(api(world.county_a).get(url)) == {city.pk, county_a.pk}
    assert ids(api(world.county_b).get(url)) == {city.pk}
    assert ids(api(world.unit_a_officer).get(url)) == {city.pk, county_a.pk}
    assert ids(api(world.unit_b_officer).get(url)) == {city.pk}
    assert ids(api(world.partner_user).get(url)) == set()


def test_unit_sees_its_submitted_inspections_but_not_a_drafted_spot_check(
    world: World, api: Any
) -> None:
    done = submitted(world)
    spot = draft(world, kind="spot_check")
    own = self_inspection(world.unit_a_officer, world.unit_a)
    client = api(world.unit_a_employee)
    assert ids(client.get(reverse("api:inspection-list"))) == {done.pk, own.pk}
    assert client.get(reverse("api:inspection-detail", args=[spot.pk])).status_code == 404
    fill(world.county_a, spot)
    services.inspection_submit(actor=world.county_a, inspection=spot)
    assert client.get(reverse("api:inspection-detail", args=[spot.pk])).status_code == 200


def test_unit_and_partner_cannot_list_conflicts(world: World, api: Any) -> None:
    url = reverse("api:inspector-conflict-list")
    assert api(world.unit_a_officer).get(url).status_code == 403
    assert api(world.partner_user).get(url).status_code == 403


# --- checklists: reference data -----------------------------------------------------------------
class TestChecklists:
    def test_everyone_signed_in_reads_every_checklist(self, world: World, api: Any) -> None:
        storage = make_checklist()
        fireworks = make_checklist(code="fireworks", kinds="fireworks_wholesale", items=2)
        shipped = set(
            Checklist.objects.exclude(pk__in=[storage.pk, fireworks.pk]).values_list(
                "pk", flat=True
            )
        )
        for user in (world.city, world.county_b, world.partner_user, world.unit_a_employee):
            client = api(user)
            listed = client.get(reverse("api:checklist-list"), {"page_size": 500})
            assert ids(listed) == {storage.pk, fireworks.pk} | shipped
            detail = client.get(reverse("api:checklist-detail", args=[fireworks.pk]))
            assert detail.status_code == 200
            assert len(detail.json()["items"]) == 2
        assert api().get(reverse("api:checklist-list")).status_code == 401

    def test_detail_items_and_languages(self, world: World, api: Any) -> None:
        storage = make_checklist()
        url = reverse("api:checklist-detail", args=[storage.pk])
        body = api(world.county_a).get(url).json()
        assert body["kinds"] == ["explosives_storage", "explosives_sale"]
        assert body["item_count"] == 3
        first = body["items"][0]
        assert first == {
            "id": storage.items.get(position=1).pk,
            "position": 1,
            "text": "检查项1",
            "text_en": "Item 1",
            "display_text": "Item 1",
            "category": "storage",
            "category_display": "Storage and magazines",
            "legal_basis": "《民用爆炸物品安全管理条例》第四十一条",
            "hazard_level": "major",
            "hazard_level_display": "Major hazard",
        }
        chinese = api(world.county_a, language="zh-hans").get(url).json()
        assert chinese["items"][0]["display_text"] == "检查项1"

    def test_filters(self, world: World, api: Any) -> None:
        old = make_checklist()
        new = make_checklist()
        fireworks = make_checklist(code="fireworks", kinds="fireworks_wholesale")
        client = api(world.county_a)
        url = reverse("api:checklist-list")
        assert ids(client.get(url, {"code": "test-storage"})) == {old.pk, new.pk}
        mine = {"page_size": 500}
        current = ids(client.get(url, {"current": "true", **mine}))
        assert {new.pk, fireworks.pk} <= current
        assert old.pk not in current
        fireworks_lists = ids(client.get(url, {"kind": "fireworks_wholesale", **mine}))
        assert fireworks.pk in fireworks_lists
        assert not {old.pk, new.pk} & fireworks_lists
        assert client.get(url, {"current": "maybe"}).status_code == 400

    def test_only_the_city_bureau_publishes(self, world: World, api: Any) -> None:
        body = checklist_body()
        before = Checklist.objects.count()
        for user in (world.county_a, world.unit_a_officer, world.partner_user):
            response = api(user).post(reverse("api:checklist-list"), body, format="json")
            assert response.status_code == 403
        assert Checklist.objects.count() == before

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("items", []),
            ("kinds", ["bakery"]),
            ("code", "not a slug"),
            ("title", 5),
            ("items", [{"text": "x", "text_en": "x", "category": "storage", "hazard_level": "x"}]),
        ],
    )
    def test_bad_input(self, world: World, api: Any, field: str, value: Any) -> None:
        response = api(world.city).post(
            reverse("api:checklist-list"), checklist_body(**{field: value}), format="json"
        )
        assert response.status_code == 400, response.content
        assert any(key.startswith(field) for key in response.json()["errors"])

    def test_city_publishes_versions(self, world: World, api: Any) -> None:
        client = api(world.city)
        first = client.post(reverse("api:checklist-list"), checklist_body(), format="json")
        assert first.status_code == 201, first.content
        body = first.json()
        assert body["version"] == 1
        assert body["is_current"] is True
        assert [i["position"] for i in body["items"]] == [1, 2]
        assert body["items"][1]["hazard_level_display"] == "Major hazard"
        second = client.post(reverse("api:checklist-list"), checklist_body(), format="json")
        assert second.status_code == 201, second.content
        assert second.json()["version"] == 2
        current = client.get(
            reverse("api:checklist-list"), {"current": "true", "code": "magazine-2025"}
        )
        assert ids(current) == {second.json()["id"]}


def checklist_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "code": "magazine-2025",
        "title": "民爆仓库安全检查表",
        "title_en": "Magazine safety checklist",
        "kinds": ["explosives_storage"],
        "description": "",
        "items": [
            {
                "text": "库房防盗门完好",
                "text_en": "Magazine security door intact",
                "category": "storage",
                "legal_basis": "GB 50089-2018",
                "hazard_level": "general",
            },
            {
                "text": "库存超过核定容量",
                "text_en": "Stock within the approved capacity",
                "category": "quantity",
                "hazard_level": "major",
            },
        ],
    }
    return {**body, **overrides}


def test_system_admin_lists_and_records_conflicts(world: World, api: Any) -> None:
    admin = UserFactory.create(username="sysadmin", role="system_admin", agency=None)
    client = api(admin)
    assert client.get(reverse("api:inspector-conflict-list")).status_code == 200
    response = client.post(
        reverse("api:inspector-conflict-list"),
        {"inspector": world.county_a.pk, "enterprise": world.unit_a.pk, "reason": "亲属关系"},
        format="json",
    )
    assert response.status_code == 201, response.content
