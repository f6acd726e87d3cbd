"""Declared magazine counts and purchase-permit allowances over the API: who sees them (the
isolation contract), who may write them, what is refused and how, corrections with their history,
arrays taken whole or not at all, and a declared count that differs from the books found by
reconciliation."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from weibao.core.models import AuditEntry
from weibao.ledger import books, reconcile
from weibao.ledger.ingest import ingest_rows
from weibao.ledger.models import Anomaly, MagazineCount, PermitAllowance
from weibao.ledger.tests.test_ingest import T0, chain
from weibao.registry.models import Enterprise, Permit, Site
from weibao.tests.contracts import ScopedApiContract
from weibao.tests.factories import (
    LedgerWorld,
    PermitFactory,
    SiteFactory,
    World,
    ledger_world,
)

pytestmark = pytest.mark.django_db

COUNTS = "api:ledger-magazine-count-list"
ALLOWANCES = "api:ledger-permit-allowance-list"
ELECTRONIC = "electronic_detonator"
_serial = itertools.count(1)


def today() -> date:
    return timezone.localdate()


def unit_in(world: World, county: str) -> Enterprise:
    return world.unit_a if county == "430405" else world.unit_b


def make_count(site: Site, **fields: Any) -> MagazineCount:
    values: dict[str, Any] = {"day": today(), "product": ELECTRONIC, "quantity": Decimal(10)}
    values.update(fields)
    return MagazineCount.objects.create(site=site, **values)


def make_allowance(unit: Enterprise, **fields: Any) -> PermitAllowance:
    permit = PermitFactory.create(enterprise=unit, kind=Permit.Kind.PURCHASE)
    values: dict[str, Any] = {"product": ELECTRONIC, "quantity": Decimal(100)}
    values.update(fields)
    return PermitAllowance.objects.create(permit=permit, **values)


@pytest.fixture
def magazine(world: World) -> Site:
    return SiteFactory.create(enterprise=world.unit_a, name="1号库")


@pytest.fixture
def purchase_permit(world: World) -> Permit:
    return PermitFactory.create(enterprise=world.unit_a, kind=Permit.Kind.PURCHASE)


def entry(where: Site, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "site": where.pk,
        "day": today().isoformat(),
        "product": ELECTRONIC,
        "quantity": "120",
    }
    body.update(fields)
    return body


def declare(client: Any, body: Any) -> Any:
    return client.post(reverse(COUNTS), body, format="json")


def audit_of(obj: Any) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            object_type=obj._meta.label_lower, object_id=str(obj.pk)
        ).order_by("seq")
    )


# --- isolation --------------------------------------------------------------------------------
class TestMagazineCountIsolation(ScopedApiContract):
    list_route = COUNTS
    detail_route = "api:ledger-magazine-count-detail"
    partner_sees_a = False
    unit_sees_a = True
    max_list_queries = 2

    def make(self, world: World, county: str) -> MagazineCount:
        site = SiteFactory.create(enterprise=unit_in(world, county))
        return make_count(site, declared_by=world.unit_a_officer)


class TestPermitAllowanceIsolation(ScopedApiContract):
    list_route = ALLOWANCES
    detail_route = "api:ledger-permit-allowance-detail"
    page_route = "ledger-permit-list"
    partner_sees_a = False
    unit_sees_a = True
    max_list_queries = 2

    def make(self, world: World, county: str) -> PermitAllowance:
        return make_allowance(unit_in(world, county))


def test_other_units_and_counties_cannot_write_what_they_cannot_see(
    world: World, api: Any, magazine: Site
) -> None:
    count = make_count(magazine)
    allowance = make_allowance(world.unit_a)
    count_url = reverse("api:ledger-magazine-count-detail", args=[count.pk])
    allowance_url = reverse("api:ledger-permit-allowance-detail", args=[allowance.pk])
    for user in (world.county_b, world.unit_b_officer, world.partner_user):
        client = api(user)
        assert client.get(count_url).status_code == 404
        assert client.patch(allowance_url, {"quantity": "1"}, format="json").status_code == 404
        assert client.delete(allowance_url).status_code == 404
    # counts are declared, never changed or removed by id
    officer = api(world.unit_a_officer)
    assert officer.patch(count_url, {"quantity": "1"}, format="json").status_code == 405
    assert officer.delete(count_url).status_code == 405
    allowance.refresh_from_db()
    assert allowance.quantity == 100


# --- declaring counts -------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["unit_a_officer", "unit_a_principal"])
def test_unit_manager_declares_a_count(world: World, api: Any, magazine: Site, who: str) -> None:
    user = getattr(world, who)
    response = declare(api(user), entry(magazine))
    assert response.status_code == 201, response.content
    body = response.json()
    count = MagazineCount.objects.get()
    assert body["id"] == count.pk and body["quantity"] == "120.000"
    assert body["site"] == {"id": magazine.pk, "name": "1号库"}
    assert body["enterprise"]["id"] == world.unit_a.pk and body["measure"] == "piece"
    assert body["declared_by"]["id"] == user.pk and body["product_display"]
    assert count.declared_by == user and count.day == today()
    assert timezone.now() - count.recorded_at < timedelta(minutes=1)
    [created] = audit_of(count)
    assert created.action == "create" and created.actor_id == user.pk
    assert created.scope_code == world.unit_a.jurisdiction_id


@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("county_a", "Regulators read declared counts"),
        ("city", "Regulators read declared counts"),
        ("unit_a_employee", "principal or safety officer"),
        ("partner_user", "principal or safety officer"),
        ("admin", "principal or safety officer"),
    ],
)
def test_only_the_units_managers_declare(
    world: World, api: Any, magazine: Site, who: str, message: str
) -> None:
    response = declare(api(getattr(world, who)), entry(magazine))
    assert response.status_code == 403
    assert message in response.json()["detail"]
    # refused before the body is looked at: a bad body is still a 403
    assert declare(api(getattr(world, who)), {"site": "x"}).status_code == 403
    assert not MagazineCount.objects.exists()


def test_anonymous_cannot_declare(api: Any, magazine: Site) -> None:
    assert declare(api(), entry(magazine)).status_code == 401


def test_declaring_again_corrects_and_the_history_keeps_the_first(
    world: World, api: Any, magazine: Site
) -> None:
    officer = api(world.unit_a_officer)
    first = declare(officer, entry(magazine, quantity=120))
    assert first.status_code == 201
    again = declare(api(world.unit_a_principal), entry(magazine, quantity="118"))
    assert again.status_code == 200, again.content
    count = MagazineCount.objects.get()
    assert again.json()["id"] == count.pk
    assert count.quantity == 118 and count.declared_by == world.unit_a_principal
    created, corrected = audit_of(count)
    assert created.action == "create"
    assert corrected.action == "update" and corrected.actor_id == world.unit_a_principal.pk
    before, after = corrected.before or {}, corrected.after or {}
    assert before["quantity"] == "120.000" and after["quantity"] == "118.000"
    assert before["declared_by_id"] == world.unit_a_officer.pk


def test_an_array_is_declared_whole_in_the_order_sent(
    world: World, api: Any, magazine: Site
) -> None:
    second = SiteFactory.create(enterprise=world.unit_a, name="2号库")
    make_count(magazine, quantity=Decimal(7))  # corrected by the first entry
    yesterday = (today() - timedelta(days=1)).isoformat()
    body = [
        entry(magazine, quantity=8),
        entry(magazine, product="explosive", quantity="12.5"),
        entry(second, day=yesterday, product="detonating_cord", quantity="300.250"),
    ]
    response = declare(api(world.unit_a_officer), body)
    assert response.status_code == 201, response.content
    rows = response.json()
    assert [(r["site"]["id"], r["product"], r["quantity"]) for r in rows] == [
        (magazine.pk, ELECTRONIC, "8.000"),
        (magazine.pk, "explosive", "12.500"),
        (second.pk, "detonating_cord", "300.250"),
    ]
    assert MagazineCount.objects.count() == 3
    only_corrections = declare(api(world.unit_a_officer), body[:2])
    assert only_corrections.status_code == 200


def test_an_array_with_one_bad_entry_writes_nothing(world: World, api: Any, magazine: Site) -> None:
    existing = make_count(magazine, quantity=Decimal(7))
    entries_before = AuditEntry.objects.count()
    body = [
        entry(magazine, quantity=8),  # would correct the existing count
        entry(magazine, product="explosive", quantity="12.5"),
        entry(magazine, product="fuse", quantity="3"),
        entry(magazine, product="nonel_detonator", quantity="2.5"),  # half a detonator
    ]
    response = declare(api(world.unit_a_officer), body)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == {
        "[3].quantity": ["Detonators are counted in whole pieces."]
    }
    existing.refresh_from_db()
    assert existing.quantity == 7 and MagazineCount.objects.count() == 1
    assert AuditEntry.objects.count() == entries_before


def test_array_errors_name_each_entry(world: World, api: Any, magazine: Site) -> None:
    body = [
        {"day": today().isoformat(), "product": ELECTRONIC, "quantity": "1"},
        entry(magazine, product="dynamite"),
        "not an object",
        entry(magazine, quantity=1.5),
    ]
    errors = declare(api(world.unit_a_officer), body).json()["errors"]
    assert set(errors) == {"[0].site", "[1].product", "[2].non_field_errors", "[3].quantity"}
    repeated = [entry(magazine), entry(magazine, quantity="3")]
    errors = declare(api(world.unit_a_officer), repeated).json()["errors"]
    assert errors == {"[1].product": ["Entry [0] already declares this magazine, day and product."]}


def test_array_size_and_body_shape(world: World, api: Any, magazine: Site) -> None:
    officer = api(world.unit_a_officer)
    too_many = [
        entry(magazine, day=(today() - timedelta(days=i % 300)).isoformat()) for i in range(501)
    ]
    response = declare(officer, too_many)
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "non_field_errors": ["Declare at most 500 counts at a time."]
    }
    assert declare(officer, []).json()["errors"] == {
        "non_field_errors": ["Declare at least one count."]
    }
    assert "non_field_errors" in declare(officer, "120").json()["errors"]
    assert not MagazineCount.objects.exists()


def test_validation_of_one_count(world: World, api: Any, magazine: Site) -> None:
    officer = api(world.unit_a_officer)
    workshop = SiteFactory.create(enterprise=world.unit_a, kind=Site.Kind.WORKSHOP)
    theirs = SiteFactory.create(enterprise=world.unit_b)
    earliest = today() - timedelta(days=366)
    cases: list[tuple[dict[str, Any], str, str]] = [
        (entry(theirs), "site", "Not a magazine of your unit."),
        (entry(magazine, site=10**9), "site", "Not a magazine of your unit."),
        (entry(magazine, site=2**70), "site", ""),
        (entry(magazine, site="12"), "site", ""),
        (entry(workshop), "site", "This site is not a magazine"),
        (entry(magazine, day=(today() + timedelta(days=1)).isoformat()), "day", "future"),
        (
            entry(magazine, day=(earliest - timedelta(days=1)).isoformat()),
            "day",
            f"Declare a day from {earliest.isoformat()} to today.",
        ),
        (entry(magazine, day="1999-12-31"), "day", "Declare a day from"),
        (entry(magazine, day="31/12/2026"), "day", ""),
        (entry(magazine, product="dynamite"), "product", ""),
        (entry(magazine, quantity="-1"), "quantity", "The quantity cannot be negative."),
        (entry(magazine, quantity="1.5"), "quantity", "whole pieces"),
        (entry(magazine, quantity=1.5), "quantity", ""),
        (entry(magazine, quantity=True), "quantity", ""),
        (entry(magazine, quantity="NaN"), "quantity", ""),
        (entry(magazine, product="explosive", quantity="1.2345"), "quantity", ""),
        (entry(magazine, quantity="1" * 12), "quantity", ""),
    ]
    for body, field, message in cases:
        response = declare(officer, body)
        assert response.status_code == 400, (body, response.content)
        errors = response.json()["errors"]
        assert list(errors) == [field], (body, errors)
        assert message in errors[field][0], (body, errors)
    assert not MagazineCount.objects.exists()
    # the edges are fine: the earliest day, zero, an explosive's grams
    for body in (
        entry(magazine, day=earliest.isoformat()),
        entry(magazine, quantity=0, product="nonel_detonator"),
        entry(magazine, product="explosive", quantity="0.125"),
    ):
        assert declare(officer, body).status_code == 201, body


def test_errors_in_chinese(world: World, api: Any, magazine: Site) -> None:
    response = declare(
        api(world.unit_a_officer, language="zh-hans"), entry(magazine, quantity="0.5")
    )
    assert response.status_code == 400
    message = response.json()["errors"]["quantity"][0]
    assert message == "雷管按整发计数。"


def test_declaring_is_idempotent_with_a_key(world: World, api: Any, magazine: Site) -> None:
    officer = api(world.unit_a_officer)
    headers = {"HTTP_IDEMPOTENCY_KEY": "count-2026-11-29"}
    first = officer.post(reverse(COUNTS), entry(magazine), format="json", **headers)
    replay = officer.post(reverse(COUNTS), entry(magazine), format="json", **headers)
    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.json() == first.json()
    [count] = MagazineCount.objects.all()
    assert len(audit_of(count)) == 1


def test_declaring_costs_a_fixed_number_of_queries_per_count(
    world: World, api: Any, magazine: Site
) -> None:
    officer = api(world.unit_a_officer)
    products = ["electronic_detonator", "nonel_detonator", "explosive", "fuse"]

    def cost(days: int) -> int:
        body = [
            entry(magazine, day=(today() - timedelta(days=d)).isoformat(), product=p)
            for d in range(days)
            for p in products
        ]
        with CaptureQueriesContext(connection) as queries:
            assert declare(officer, body).status_code in (200, 201)
        return len(queries)

    one, five = cost(1), cost(5)
    # each count: its save and its audit entry (lock the chain head, insert, move the head)
    per_count = (five - one) / (4 * 4)
    assert per_count <= 4, per_count
    assert one <= 4 * 4 + 6, one


def test_list_filters_and_ordering(world: World, api: Any, magazine: Site) -> None:
    second = SiteFactory.create(enterprise=world.unit_a)
    older = today() - timedelta(days=3)
    a = make_count(magazine)
    b = make_count(magazine, day=older, product="explosive")
    c = make_count(second, day=older)
    client = api(world.county_a)

    def ids(**query: Any) -> list[int]:
        response = client.get(reverse(COUNTS), query)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [a.pk, b.pk, c.pk] if magazine.pk < second.pk else [a.pk, c.pk, b.pk]
    assert set(ids(site=magazine.pk)) == {a.pk, b.pk}
    assert set(ids(product="explosive")) == {b.pk}
    assert set(ids(day_after=today().isoformat())) == {a.pk}
    assert set(ids(day_before=today().isoformat())) == {b.pk, c.pk}
    assert set(ids(unit=world.unit_a.pk)) == {a.pk, b.pk, c.pk}
    assert set(ids(unit=world.unit_b.pk)) == set()
    assert ids(ordering="day,id")[:1] == [b.pk]
    assert client.get(reverse(COUNTS), {"day_after": "soon"}).status_code == 400
    assert client.get(reverse(COUNTS), {"ordering": "declared_by"}).status_code == 400


# --- reconciliation sees what was declared ----------------------------------------------------
def test_a_declared_count_that_differs_from_the_books_is_a_count_mismatch(
    world: World, api: Any, tmp_path: Path
) -> None:
    lw: LedgerWorld = ledger_world(world)
    assert ingest_rows(chain(lw)).accepted
    magazine = lw.contractor_magazine  # five stored at T0 + 41 h, two issued at 50 h, one back
    stored = timezone.localtime(T0 + timedelta(hours=41)).date()
    last = timezone.localtime(T0 + timedelta(hours=55)).date()
    book = books.site_book(site=magazine, start=stored, end=last)
    on_hand = {line.day: line.on_hand for line in book.lines if line.product == ELECTRONIC}
    assert on_hand[stored] >= 3 and on_hand[last] == 4
    body = [
        entry(magazine, day=stored.isoformat(), quantity=str(on_hand[stored] - 1)),
        entry(magazine, day=last.isoformat(), quantity=4),  # what the books say
    ]
    assert declare(api(world.unit_a_officer), body).status_code == 201
    reconcile.run(export_dir=tmp_path)
    [mismatch] = Anomaly.objects.filter(kind=Anomaly.Kind.COUNT_MISMATCH)
    assert mismatch.key == f"count_mismatch:{magazine.pk}:{stored.isoformat()}:{ELECTRONIC}"
    assert mismatch.enterprise_id == world.unit_a.pk and mismatch.site_id == magazine.pk
    assert mismatch.quantity == 1
    assert Decimal(mismatch.evidence["books"]) == on_hand[stored]
    assert Decimal(mismatch.evidence["declared"]) == on_hand[stored] - 1
    # corrected to what the books say, the next run finds it no more
    corrected = body[0] | {"quantity": str(on_hand[stored])}
    assert declare(api(world.unit_a_officer), corrected).status_code == 200
    again = reconcile.run(export_dir=tmp_path)
    assert not [f for f in again.findings if f.kind == "count_mismatch"]


# --- permit allowances ------------------------------------------------------------------------
def set_allowance(client: Any, on: Permit, **fields: Any) -> Any:
    body = {"permit": on.pk, "product": ELECTRONIC, "quantity": "500", **fields}
    return client.post(reverse(ALLOWANCES), body, format="json")


@pytest.mark.parametrize("who", ["county_a", "city", "admin"])
def test_supervising_regulator_sets_an_allowance(
    world: World, api: Any, purchase_permit: Permit, who: str
) -> None:
    user = getattr(world, who)
    response = set_allowance(api(user), purchase_permit)
    assert response.status_code == 201, response.content
    body = response.json()
    allowance = PermitAllowance.objects.get()
    assert body["id"] == allowance.pk and body["quantity"] == "500.000"
    assert body["permit"]["id"] == purchase_permit.pk
    assert body["permit"]["number"] == purchase_permit.number
    assert body["enterprise"]["id"] == world.unit_a.pk and body["measure"] == "piece"
    [created] = audit_of(allowance)
    assert created.action == "create" and created.actor_id == user.pk


@pytest.mark.parametrize("who", ["unit_a_officer", "unit_a_principal", "unit_a_employee"])
def test_a_unit_reads_its_allowances_and_cannot_write_them(
    world: World, api: Any, purchase_permit: Permit, who: str
) -> None:
    allowance = PermitAllowance.objects.create(
        permit=purchase_permit, product=ELECTRONIC, quantity=100
    )
    client = api(getattr(world, who))
    url = reverse("api:ledger-permit-allowance-detail", args=[allowance.pk])
    assert client.get(url).status_code == 200
    refused = set_allowance(client, purchase_permit, product="explosive")
    assert refused.status_code == 403
    assert "bureau supervising" in refused.json()["detail"]
    assert client.patch(url, {"quantity": "900"}, format="json").status_code == 403
    assert client.delete(url).status_code == 403
    assert PermitAllowance.objects.get().quantity == 100


def test_partner_cannot_set_allowances(world: World, api: Any, purchase_permit: Permit) -> None:
    assert set_allowance(api(world.partner_user), purchase_permit).status_code == 403


def test_regulator_of_another_county_does_not_find_the_permit(
    world: World, api: Any, purchase_permit: Permit
) -> None:
    response = set_allowance(api(world.county_b), purchase_permit)
    assert response.status_code == 400
    assert response.json()["errors"] == {"permit": ["No permit you may see has this id."]}
    assert not PermitAllowance.objects.exists()


def test_allowance_validation(world: World, api: Any, purchase_permit: Permit) -> None:
    client = api(world.county_a)
    sale = PermitFactory.create(enterprise=world.unit_a, kind=Permit.Kind.SALE)
    cases: list[tuple[Any, dict[str, Any], str, str]] = [
        (sale, {}, "permit", "Allowances belong to purchase permits only."),
        (purchase_permit, {"quantity": "0"}, "quantity", "more than 0"),
        (purchase_permit, {"quantity": "-5"}, "quantity", "more than 0"),
        (purchase_permit, {"quantity": "10.5"}, "quantity", "whole pieces"),
        (purchase_permit, {"quantity": 10.5}, "quantity", ""),
        (purchase_permit, {"product": "dynamite"}, "product", ""),
        (purchase_permit, {"permit": 2**70}, "permit", ""),
        (purchase_permit, {"permit": None}, "permit", ""),
    ]
    for permit, fields, field, message in cases:
        response = set_allowance(client, permit, **fields)
        assert response.status_code == 400, (fields, response.content)
        errors = response.json()["errors"]
        assert list(errors) == [field] and message in errors[field][0], (fields, errors)
    assert not PermitAllowance.objects.exists()
    ok = set_allowance(client, purchase_permit, product="explosive", quantity="1200.5")
    assert ok.status_code == 201


def test_a_second_allowance_for_a_product_is_a_400_on_product(
    world: World, api: Any, purchase_permit: Permit
) -> None:
    client = api(world.county_a)
    assert set_allowance(client, purchase_permit).status_code == 201
    again = set_allowance(client, purchase_permit, quantity="10")
    assert again.status_code == 400
    assert list(again.json()["errors"]) == ["product"]
    assert PermitAllowance.objects.get().quantity == 500


def test_regulator_changes_and_removes_an_allowance(
    world: World, api: Any, purchase_permit: Permit
) -> None:
    allowance = PermitAllowance.objects.create(
        permit=purchase_permit, product=ELECTRONIC, quantity=100
    )
    PermitAllowance.objects.create(permit=purchase_permit, product="explosive", quantity=50)
    client = api(world.county_a)
    url = reverse("api:ledger-permit-allowance-detail", args=[allowance.pk])
    changed = client.patch(url, {"quantity": "150"}, format="json")
    assert changed.status_code == 200 and changed.json()["quantity"] == "150.000"
    other = PermitFactory.create(enterprise=world.unit_a, kind=Permit.Kind.PURCHASE)
    moved = client.put(
        url, {"permit": other.pk, "product": ELECTRONIC, "quantity": "1"}, format="json"
    )
    assert moved.status_code == 400 and list(moved.json()["errors"]) == ["permit"]
    taken = client.patch(url, {"product": "explosive"}, format="json")
    assert taken.status_code == 400 and list(taken.json()["errors"]) == ["product"]
    put = client.put(
        url, {"permit": purchase_permit.pk, "product": "fuse", "quantity": "80.5"}, format="json"
    )
    assert put.status_code == 200 and put.json()["product"] == "fuse"
    allowance.refresh_from_db()
    assert (allowance.product, allowance.quantity) == ("fuse", Decimal("80.5"))
    assert [e.action for e in audit_of(allowance)] == ["create", "update", "update"]
    assert client.delete(url).status_code == 204
    assert not PermitAllowance.objects.filter(pk=allowance.pk).exists()
    assert [e.action for e in audit_of(allowance)][-1] == "delete"
    assert client.get(url).status_code == 404


def test_allowance_list_filters(world: World, api: Any, purchase_permit: Permit) -> None:
    a = PermitAllowance.objects.create(permit=purchase_permit, product=ELECTRONIC, quantity=1)
    b = PermitAllowance.objects.create(permit=purchase_permit, product="explosive", quantity=1)
    c = make_allowance(world.unit_a)
    client = api(world.city)

    def ids(**query: Any) -> set[int]:
        response = client.get(reverse(ALLOWANCES), query)
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids(permit=purchase_permit.pk) == {a.pk, b.pk}
    assert ids(product="explosive") == {b.pk}
    assert ids(unit=world.unit_a.pk) == {a.pk, b.pk, c.pk}
    assert ids(unit=world.unit_b.pk) == set()
    assert client.get(reverse(ALLOWANCES), {"permit": "x"}).status_code == 400
