"""API: campaigns, reproducible spot-check draws, conflicts of interest and campaign progress."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from weibao.inspections import services
from weibao.inspections.models import Campaign, CampaignDraw, Inspection, InspectorConflict
from weibao.inspections.tests.test_api import campaign, checklist, fill, ids
from weibao.registry.models import Enterprise
from weibao.tests.factories import EnterpriseFactory, UserFactory, World

pytestmark = pytest.mark.django_db


def campaign_body(**overrides: Any) -> dict[str, Any]:
    today = timezone.localdate()
    body = {
        "name": "2025年节后复工复产安全检查",
        "description": "全市民爆单位",
        "scope": ["430405", "430406"],
        "kinds": ["explosives_storage"],
        "starts_on": str(today),
        "ends_on": str(today + timedelta(days=40)),
        "self_inspection_required": True,
        "self_inspection_due": str(today + timedelta(days=10)),
        "spot_check_ratio": "0.300",
    }
    return {**body, **overrides}


def draw_url(c: Campaign, name: str = "draw") -> str:
    return reverse(f"api:campaign-{name}", args=[c.pk])


class TestCampaignWrites:
    url = "/api/v1/campaigns/"

    def test_city_organises_for_the_city(self, world: World, api: Any) -> None:
        response = api(world.city).post(self.url, campaign_body(), format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["jurisdiction"] == "430400"
        assert body["agency"] == world.city_bureau.pk
        assert body["scope"] == ["430405", "430406"]
        assert body["spot_check_ratio"] == "0.300"
        assert body["state"] == "active"
        assert body["state_display"] == "Active"
        assert body["checklist"] is None

    def test_defaults(self, world: World, api: Any) -> None:
        body = campaign_body()
        for name in ("scope", "spot_check_ratio", "self_inspection_due", "description"):
            body.pop(name)
        response = api(world.county_a).post(self.url, body, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["scope"] == ["430405"]
        assert response.json()["spot_check_ratio"] == "0.200"

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("spot_check_ratio", 0.2),  # decimals travel as strings
            ("spot_check_ratio", "1.5"),
            ("ends_on", "2000-01-01"),
            ("scope", ["430000"]),
            ("scope", ["999999"]),
            ("kinds", ["bakery"]),
            ("kinds", []),
            ("self_inspection_required", "yes"),
            ("self_inspection_due", "2000-01-01"),
            ("name", 5),
            ("checklist", 999999),
        ],
    )
    def test_bad_input(self, world: World, api: Any, field: str, value: Any) -> None:
        body = campaign_body(**{field: value}, jurisdiction="430400")
        response = api(world.city, language="zh-hans").post(self.url, body, format="json")
        assert response.status_code == 400, response.content
        assert any(key.startswith(field) for key in response.json()["errors"]), response.json()
        assert not Campaign.objects.exists()

    def test_county_organises_only_for_its_county(self, world: World, api: Any) -> None:
        body = campaign_body(jurisdiction="430406", scope=["430406"])
        response = api(world.county_a).post(self.url, body, format="json")
        assert response.status_code == 400
        assert "jurisdiction" in response.json()["errors"]

    def test_units_and_partners_do_not_organise(self, world: World, api: Any) -> None:
        for user in (world.unit_a_officer, world.partner_user):
            assert api(user).post(self.url, campaign_body(), format="json").status_code == 403

    def test_only_the_organiser_or_above_changes_it(self, world: World, api: Any) -> None:
        city = campaign(world.city, scope=[world.county_a_bureau.jurisdiction])
        url = reverse("api:campaign-detail", args=[city.pk])
        assert api(world.county_a).patch(url, {"name": "x"}, format="json").status_code == 403
        changed = api(world.city).patch(
            url, {"name": "改名", "spot_check_ratio": "0.500"}, format="json"
        )
        assert changed.status_code == 200, changed.content
        assert changed.json()["spot_check_ratio"] == "0.500"
        county = campaign(world.county_a)
        county_url = reverse("api:campaign-detail", args=[county.pk])
        assert api(world.city).patch(county_url, {"name": "y"}, format="json").status_code == 200
        assert (
            api(world.county_b).patch(county_url, {"name": "z"}, format="json").status_code == 404
        )

    def test_filters(self, world: World, api: Any) -> None:
        today = timezone.localdate()
        running = campaign(world.city, scope=[world.county_a_bureau.jurisdiction])
        later = campaign(
            world.county_a,
            starts_on=today + timedelta(days=5),
            ends_on=today + timedelta(days=9),
            kinds=["fireworks_wholesale"],
        )
        over = campaign(
            world.county_b, starts_on=today - timedelta(days=9), ends_on=today - timedelta(days=5)
        )
        client = api(world.city)

        def found(**q: Any) -> set[int]:
            return ids(client.get(self.url, q))

        assert found(state="active") == {running.pk}
        assert found(state="upcoming") == {later.pk}
        assert found(state="ended") == {over.pk}
        assert found(active_on=str(today + timedelta(days=6))) == {running.pk, later.pk}
        assert found(jurisdiction="430405") == {later.pk}
        assert found(jurisdiction="430400") == {running.pk, later.pk, over.pk}
        assert found(kind="fireworks_wholesale") == {later.pk}
        assert client.get(self.url, {"state": "soon"}).status_code == 400


# --- draws --------------------------------------------------------------------------------------
@pytest.fixture
def county_a_units(world: World) -> list[int]:
    """Ten storage units in county A (unit A among them) and a third county A officer."""
    for _ in range(9):
        EnterpriseFactory.create(jurisdiction_id="430405")
    UserFactory.create(username="county_a3", agency=world.county_a_bureau)
    return sorted(Enterprise.objects.filter(jurisdiction_id="430405").values_list("pk", flat=True))


def city_campaign(world: World, ratio: str = "0.300") -> Campaign:
    return campaign(
        world.city,
        scope=[world.county_a_bureau.jurisdiction, world.county_b_bureau.jurisdiction],
        checklist=checklist(),
        spot_check_ratio=ratio,
    )


class TestDraws:
    def test_draw_is_reproducible_over_the_api(
        self, world: World, api: Any, county_a_units: list[int]
    ) -> None:
        client = api(world.county_a)
        first = client.post(draw_url(city_campaign(world)), {"seed": "2025-zh"}, format="json")
        assert first.status_code == 201, first.content
        body = first.json()
        assert body["seed"] == "2025-zh"
        assert body["ratio"] == "0.300"
        assert body["population_size"] == 10
        assert body["jurisdiction"] == "430405"
        assert body["replayable"] is True
        assert body["drawn_by"] == {"id": world.county_a.pk, "name": str(world.county_a)}
        assert len(body["result"]) == 3
        for row in body["result"]:
            assert row["unit_name"]
            assert len(row["inspectors"]) == 2
            assert all(p["name"] for p in row["inspectors"])
            spot = Inspection.objects.get(pk=row["inspection"])
            assert spot.kind == "spot_check"
            assert spot.enterprise_id == row["unit"]
            assert sorted(spot.inspectors.values_list("pk", flat=True)) == sorted(
                p["id"] for p in row["inspectors"]
            )
        second = client.post(draw_url(city_campaign(world)), {"seed": "2025-zh"}, format="json")
        assert second.status_code == 201
        assert [(r["unit"], r["inspectors"]) for r in second.json()["result"]] == [
            (r["unit"], r["inspectors"]) for r in body["result"]
        ]
        # A draw is final for its area.
        again = client.post(draw_url(CampaignDraw.objects.first().campaign), {}, format="json")  # type: ignore[union-attr]
        assert again.status_code == 409

    def test_conflicts_are_respected(
        self, world: World, api: Any, county_a_units: list[int]
    ) -> None:
        recorded = api(world.county_a).post(
            reverse("api:inspector-conflict-list"),
            {"inspector": world.county_a2.pk, "enterprise": world.unit_a.pk, "reason": "亲属"},
            format="json",
        )
        assert recorded.status_code == 201, recorded.content
        response = api(world.county_a).post(
            draw_url(city_campaign(world, ratio="1.000")), {}, format="json"
        )
        assert response.status_code == 201, response.content
        rows = {row["unit"]: row for row in response.json()["result"]}
        assert set(rows) == set(county_a_units)
        assert world.county_a2.pk not in [p["id"] for p in rows[world.unit_a.pk]["inspectors"]]

    def test_who_may_draw(self, world: World, api: Any, county_a_units: list[int]) -> None:
        city = city_campaign(world)
        county_a_only = campaign(world.county_a)
        assert api(world.unit_a_officer).post(draw_url(city), {}, format="json").status_code == 403
        assert api(world.partner_user).post(draw_url(city), {}, format="json").status_code == 404
        assert (
            api(world.county_b).post(draw_url(county_a_only), {}, format="json").status_code == 404
        )
        outside = api(world.county_a).post(
            draw_url(city), {"jurisdiction": "430406"}, format="json"
        )
        assert outside.status_code == 400
        assert "jurisdiction" in outside.json()["errors"]
        assert (
            api(world.county_a).post(draw_url(city), {"seed": 5}, format="json").status_code == 400
        )
        assert not CampaignDraw.objects.exists()

    def test_draws_are_seen_by_the_area_regulators_only(
        self, world: World, api: Any, county_a_units: list[int]
    ) -> None:
        city = city_campaign(world)
        assert (
            api(world.county_a).post(draw_url(city), {"seed": "x"}, format="json").status_code
            == 201
        )
        url = draw_url(city, "draws")

        def seen(user: Any) -> list[str]:
            response = api(user).get(url)
            assert response.status_code == 200, response.content
            return [d["seed"] for d in response.json()]

        assert seen(world.county_a) == ["x"]
        assert seen(world.city) == ["x"]
        assert seen(world.county_b) == []
        assert seen(world.unit_a_officer) == []
        # The unit cannot find its drafted spot check either.
        unit_list = api(world.unit_a_officer).get(reverse("api:inspection-list"))
        assert ids(unit_list) == set()

    def test_draws_list_in_a_fixed_number_of_queries(
        self, world: World, api: Any, county_a_units: list[int]
    ) -> None:
        client = api(world.city)
        one = city_campaign(world, ratio="0.200")
        api(world.county_a).post(draw_url(one), {"seed": "a"}, format="json")
        client.get(draw_url(one, "draws"))
        with CaptureQueriesContext(connection) as few:
            client.get(draw_url(one, "draws"))
        for _ in range(3):
            UserFactory.create(agency=world.county_b_bureau)
            EnterpriseFactory.create(jurisdiction_id="430406", kinds="explosives_storage")
        api(world.county_b).post(draw_url(one), {"seed": "b"}, format="json")
        with CaptureQueriesContext(connection) as many:
            response = client.get(draw_url(one, "draws"))
        assert len(response.json()) == 2
        assert len(many) == len(few)


# --- conflicts ----------------------------------------------------------------------------------
class TestConflicts:
    url = "/api/v1/inspector-conflicts/"

    def test_record_and_refuse_duplicates(self, world: World, api: Any) -> None:
        body = {"inspector": world.county_a2.pk, "enterprise": world.unit_a.pk, "reason": "亲属"}
        client = api(world.county_a)
        created = client.post(self.url, body, format="json")
        assert created.status_code == 201, created.content
        assert created.json()["inspector_name"] == str(world.county_a2)
        assert created.json()["enterprise_uscc"] == world.unit_a.uscc
        duplicate = client.post(self.url, body, format="json")
        assert duplicate.status_code == 400
        assert ids(client.get(self.url, {"inspector": world.county_a2.pk})) == {
            created.json()["id"]
        }

    def test_references_are_scoped(self, world: World, api: Any) -> None:
        client = api(world.county_a)
        hidden_officer = {"inspector": world.county_b.pk, "enterprise": world.unit_a.pk}
        response = client.post(self.url, {**hidden_officer, "reason": "x"}, format="json")
        assert response.status_code == 400
        assert "does not exist" in response.json()["errors"]["inspector"][0]
        hidden_unit = {"inspector": world.county_a.pk, "enterprise": world.unit_b.pk}
        response = client.post(self.url, {**hidden_unit, "reason": "x"}, format="json")
        assert response.status_code == 400
        assert "enterprise" in response.json()["errors"]
        # Units' accounts are not the bureau's to name; reasons are text.
        unit_account = {"inspector": world.unit_a_officer.pk, "enterprise": world.unit_a.pk}
        assert (
            client.post(self.url, {**unit_account, "reason": "x"}, format="json").status_code == 400
        )
        mine = {"inspector": world.county_a.pk, "enterprise": world.unit_a.pk}
        assert client.post(self.url, {**mine, "reason": 5}, format="json").status_code == 400
        assert not InspectorConflict.objects.exists()

    def test_units_do_not_record_conflicts(self, world: World, api: Any) -> None:
        body = {"inspector": world.county_a.pk, "enterprise": world.unit_a.pk, "reason": "x"}
        assert api(world.unit_a_officer).post(self.url, body, format="json").status_code == 403


# --- progress -----------------------------------------------------------------------------------
def test_progress(world: World, api: Any, county_a_units: list[int]) -> None:
    city = city_campaign(world, ratio="0.200")
    draw = api(world.county_a).post(draw_url(city), {"seed": "p"}, format="json")
    assert draw.status_code == 201
    spot_ids = [row["inspection"] for row in draw.json()["result"]]
    spot = Inspection.objects.get(pk=spot_ids[0])
    fill(world.county_a, spot, ["fail", "fail", "pass"])
    services.inspection_submit(actor=world.county_a, inspection=spot)
    own = services.inspection_create(
        actor=world.unit_a_officer,
        data={"kind": "self_inspection", "enterprise": world.unit_a, "campaign": city},
    )
    fill(world.unit_a_officer, own, ["pass", "pass", "fail"])
    services.inspection_submit(actor=world.unit_a_officer, inspection=own)
    url = draw_url(city, "progress")

    client = api(world.county_a)
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        body = client.get(url).json()
    assert len(queries) <= 6, [q["sql"] for q in queries.captured_queries]
    assert body["units_in_scope"] == 10
    assert body["self_inspections"] == {
        "required": 10,
        "submitted": 1,
        "due": None,
    }
    assert body["spot_checks"] == {"drawn": 2, "submitted": 1}
    kinds = {row["kind"]: row["count"] for row in body["inspections_submitted"]}
    assert kinds == {"spot_check": 1, "self_inspection": 1}
    assert body["hazards"]["total"] == 3
    levels = {row["level"]: row["count"] for row in body["hazards"]["by_level"]}
    assert levels == {"major": 1, "general": 2}
    assert {row["status"] for row in body["hazards"]["by_status"]} == {"open"}

    # County B sees the same campaign over its own (empty) part; the unit over itself.
    other = api(world.county_b).get(url).json()
    assert other["units_in_scope"] == 0
    assert other["spot_checks"] == {"drawn": 0, "submitted": 0}
    unit = api(world.unit_a_officer).get(url).json()
    assert unit["units_in_scope"] == 1
    assert unit["self_inspections"]["submitted"] == 1
    assert unit["spot_checks"]["drawn"] <= 1  # only a submitted spot check of its own
