"""The shipped default checklists, choosing one for a unit, and publishing new versions."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from weibao.core.errors import ServiceValidationError
from weibao.hazards.choices import HazardCategory, HazardLevel
from weibao.inspections.checklists import (
    checklist_publish,
    current_checklist_for,
    default_data,
    load_default_checklists,
)
from weibao.inspections.models import Checklist, ChecklistItem
from weibao.registry.models import EnterpriseKind
from weibao.tests.factories import EnterpriseFactory, World, make_checklist

pytestmark = pytest.mark.django_db

DEFAULTS = default_data()["checklists"]
CODES = [row["code"] for row in DEFAULTS]
MAJOR_CASES = set(default_data()["major_cases"])


def item_rows(checklist: Checklist) -> list[tuple[Any, ...]]:
    return list(
        checklist.items.order_by("position").values_list(
            "position", "text", "text_en", "category", "legal_basis", "hazard_level"
        )
    )


# --- the shipped data --------------------------------------------------------------------------
def test_the_data_file_says_it_needs_checking() -> None:
    assert "administrator should check" in default_data()["note"]
    assert {
        "licence",
        "safety_body",
        "uncertified_manager",
        "uncertified_operator",
        "over_quantity",
        "over_capacity",
        "over_headcount",
        "safety_systems",
    } <= MAJOR_CASES


def test_every_unit_kind_has_a_default_checklist() -> None:
    covered = {kind for row in DEFAULTS for kind in row["kinds"]}
    assert covered == set(EnterpriseKind.values)


@pytest.mark.parametrize("row", DEFAULTS, ids=CODES)
def test_the_migration_loaded_each_default(row: dict[str, Any]) -> None:
    checklist = Checklist.objects.get(code=row["code"], version=1)
    assert checklist.is_current
    assert checklist.kind_list == row["kinds"]
    assert (checklist.title, checklist.title_en) == (row["title"], row["title_en"])
    assert item_rows(checklist) == [
        (
            i["position"],
            i["text"],
            i["text_en"],
            i["category"],
            i["legal_basis"],
            i["hazard_level"],
        )
        for i in row["items"]
    ]


@pytest.mark.parametrize("row", DEFAULTS, ids=CODES)
def test_each_default_covers_every_major_case(row: dict[str, Any]) -> None:
    cases = [i["major_case"] for i in row["items"] if "major_case" in i]
    assert set(cases) == MAJOR_CASES
    assert all(i["hazard_level"] == HazardLevel.MAJOR for i in row["items"] if "major_case" in i)
    # The levels reached the database too: a failed item becomes a major hazard.
    majors = set(
        ChecklistItem.objects.filter(
            checklist__code=row["code"], hazard_level=HazardLevel.MAJOR
        ).values_list("position", flat=True)
    )
    assert {i["position"] for i in row["items"] if "major_case" in i} <= majors


@pytest.mark.parametrize("row", DEFAULTS, ids=CODES)
def test_each_default_is_complete_in_both_languages(row: dict[str, Any]) -> None:
    assert row["title"].strip() and row["title_en"].strip()
    assert set(row["kinds"]) <= set(EnterpriseKind.values)
    items = row["items"]
    assert 15 <= len(items) <= 30
    assert [i["position"] for i in items] == list(range(1, len(items) + 1))
    for item in items:
        assert item["text"].strip() and item["text_en"].strip(), item
        assert item["legal_basis"].strip() and len(item["legal_basis"]) <= 300, item
        assert item["category"] in HazardCategory.values, item
        assert item["hazard_level"] in HazardLevel.values, item
        # Chinese in the Chinese text, none in the English one.
        assert any("\u4e00" <= ch <= "\u9fff" for ch in item["text"]), item
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in item["text_en"])


def test_loading_again_creates_nothing() -> None:
    before = (Checklist.objects.count(), ChecklistItem.objects.count())
    assert load_default_checklists(Checklist, ChecklistItem) == 0
    assert (Checklist.objects.count(), ChecklistItem.objects.count()) == before


def test_loading_restores_only_missing_codes(world: World) -> None:
    Checklist.objects.get(code="explosives-transport").delete()
    later = publish(world.city, code="blasting-contractor", kinds=["blasting"])
    assert load_default_checklists(Checklist, ChecklistItem) == 1
    assert Checklist.objects.get(code="explosives-transport").items.count() == len(
        next(r for r in DEFAULTS if r["code"] == "explosives-transport")["items"]
    )
    # An administrator's later version stays the current one.
    assert Checklist.objects.get(code="blasting-contractor", is_current=True) == later


# --- choosing a checklist for a unit -----------------------------------------------------------
@pytest.mark.parametrize(
    ("kinds", "code"),
    [
        ("blasting", "blasting-contractor"),
        ("fireworks_wholesale", "fireworks-wholesale-retail"),
        ("fireworks_retail", "fireworks-wholesale-retail"),
        ("explosives_sale,explosives_storage", "explosives-production-storage"),
        ("toxic_chemicals", "precursor-chemicals"),
        ("explosives_transport", "explosives-transport"),
        # Two kinds in common beat one.
        ("explosives_storage,explosives_sale,blasting", "explosives-production-storage"),
        # Equal overlap: the narrower list is the more specific one.
        ("explosives_storage,blasting", "blasting-contractor"),
    ],
)
def test_current_checklist_for_a_unit(kinds: str, code: str) -> None:
    unit = EnterpriseFactory.create(kinds=kinds)
    chosen = current_checklist_for(unit)
    assert chosen is not None
    assert chosen.code == code


def test_the_fireworks_and_blasting_personas(world: World) -> None:
    fireworks = current_checklist_for(world.unit_b)
    assert fireworks is not None
    assert fireworks.code == "fireworks-wholesale-retail"
    blasting = EnterpriseFactory.create(kinds="blasting", jurisdiction_id="430405")
    chosen = current_checklist_for(blasting)
    assert chosen is not None
    assert chosen.code == "blasting-contractor"


def test_the_current_version_is_chosen(world: World) -> None:
    unit = EnterpriseFactory.create(kinds="blasting")
    new = publish(world.city, code="blasting-contractor", kinds=["blasting"])
    assert current_checklist_for(unit) == new


def test_a_list_written_for_exactly_the_units_kinds_wins(world: World) -> None:
    own = make_checklist(code="fireworks", kinds="fireworks_wholesale")
    assert current_checklist_for(world.unit_b) == own


def test_no_current_checklist_for_the_kinds() -> None:
    Checklist.objects.filter(code="explosives-transport").update(is_current=False)
    assert current_checklist_for(EnterpriseFactory.create(kinds="explosives_transport")) is None


# --- publishing --------------------------------------------------------------------------------
def body(**overrides: Any) -> dict[str, Any]:
    data = {
        "code": "magazine-2025",
        "title": "民爆仓库专项检查表",
        "title_en": "Magazine campaign checklist",
        "kinds": ["explosives_storage"],
        "description": "",
    }
    return {**data, **overrides}


def items(n: int = 2) -> list[dict[str, Any]]:
    return [
        {
            "text": f"库房检查项{k}",
            "text_en": f"Magazine item {k}",
            "category": "storage",
            "legal_basis": "《民用爆炸物品安全管理条例》第四十一条",
            "hazard_level": "major" if k == 1 else "general",
        }
        for k in range(1, n + 1)
    ]


def publish(actor: Any, **overrides: Any) -> Checklist:
    return checklist_publish(actor=actor, data=body(**overrides), items=items())


def test_publishing_a_new_code_makes_version_one(world: World) -> None:
    checklist = publish(world.city)
    assert (checklist.version, checklist.is_current) == (1, True)
    assert checklist.created_by == world.city
    assert checklist.kind_list == ["explosives_storage"]
    assert item_rows(checklist)[1] == (
        2,
        "库房检查项2",
        "Magazine item 2",
        "storage",
        "《民用爆炸物品安全管理条例》第四十一条",
        "general",
    )


def test_publishing_a_new_version_keeps_the_old_one_intact(world: World) -> None:
    old = Checklist.objects.get(code="explosives-production-storage", is_current=True)
    old_items = item_rows(old)
    old_title = old.title
    new = checklist_publish(
        actor=world.admin,
        data=body(code=old.code, kinds="explosives_storage,explosives_sale"),
        items=items(3),
    )
    assert new.version == old.version + 1
    assert new.is_current
    assert new.kind_list == ["explosives_storage", "explosives_sale"]
    assert [row[0] for row in item_rows(new)] == [1, 2, 3]
    old.refresh_from_db()
    assert not old.is_current
    assert old.title == old_title
    assert item_rows(old) == old_items
    assert list(Checklist.objects.filter(code=old.code, is_current=True)) == [new]


def test_positions_given_in_order_are_accepted(world: World) -> None:
    numbered = [{**item, "position": n} for n, item in enumerate(items(), start=1)]
    checklist = checklist_publish(actor=world.city, data=body(), items=numbered)
    assert [row[0] for row in item_rows(checklist)] == [1, 2]


def broken(index: int, **changes: Any) -> list[dict[str, Any]]:
    rows = items(3)
    rows[index] = {**rows[index], **changes}
    return rows


@pytest.mark.parametrize(
    ("data", "rows", "field"),
    [
        (body(), [], "items"),
        (body(kinds=["bakery"]), items(), "kinds"),
        (body(kinds=[]), items(), "kinds"),
        (body(code="not a slug"), items(), "code"),
        (body(title=""), items(), "title"),
        (body(title_en="  "), items(), "title_en"),
        (body(), broken(1, text=""), "items[1].text"),
        (body(), broken(2, text_en=None), "items[2].text_en"),
        (body(), broken(0, category="weather"), "items[0].category"),
        (body(), broken(1, hazard_level="grave"), "items[1].hazard_level"),
        (body(), broken(1, legal_basis="x" * 301), "items[1].legal_basis"),
        (body(), broken(1, position=1), "items[1].position"),
        (body(), broken(2, position=5), "items[2].position"),
    ],
)
def test_validation_errors_name_the_field(
    world: World, data: dict[str, Any], rows: list[dict[str, Any]], field: str
) -> None:
    before = Checklist.objects.count()
    with pytest.raises(ServiceValidationError) as caught:
        checklist_publish(actor=world.city, data=data, items=rows)
    errors = caught.value.message_dict
    assert field in errors, errors
    assert all(message for message in errors[field])
    assert Checklist.objects.count() == before


def test_a_failed_new_version_leaves_the_current_one(world: World) -> None:
    current = Checklist.objects.get(code="blasting-contractor", is_current=True)
    with pytest.raises(ServiceValidationError):
        checklist_publish(
            actor=world.city, data=body(code="blasting-contractor"), items=broken(0, text="")
        )
    current.refresh_from_db()
    assert current.is_current


def test_only_the_city_bureau_and_administrators_publish(world: World) -> None:
    for user in (
        world.county_a,
        world.county_b,
        world.unit_a_principal,
        world.unit_a_officer,
        world.unit_a_employee,
        world.partner_user,
    ):
        with pytest.raises(PermissionDenied):
            publish(user)
    assert not Checklist.objects.filter(code="magazine-2025").exists()
    assert publish(world.city).version == 1
    assert publish(world.admin).version == 2
