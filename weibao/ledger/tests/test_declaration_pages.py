"""The pages for declared counts and permit allowances: the count form on a magazine's books
(for its unit's managers only, errors on the fields, corrections, the mismatch shown), and the
purchase permits with their allowances (set by the supervising bureau), with query counts."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from weibao.core.models import AuditEntry
from weibao.ledger.models import Anomaly, MagazineCount, PermitAllowance
from weibao.ledger.tests.test_api import make_anomaly
from weibao.registry.models import Permit, Site
from weibao.tests.factories import PermitFactory, SiteFactory, World

pytestmark = pytest.mark.django_db
ELECTRONIC = "electronic_detonator"


@pytest.fixture(autouse=True)
def _english(client: Any) -> None:
    # The pages speak the request's language (Chinese by default): read them in English.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def magazine(world: World) -> Site:
    return SiteFactory.create(enterprise=world.unit_a, name="1号库")


@pytest.fixture
def permit(world: World) -> Permit:
    return PermitFactory.create(enterprise=world.unit_a, kind=Permit.Kind.PURCHASE)


def books_url(site: Site) -> str:
    return reverse("ledger-site-books", args=[site.pk])


def count_post(**fields: Any) -> dict[str, Any]:
    data = {"count-day": timezone.localdate().isoformat()}
    data.update({f"count-q_{k}": v for k, v in fields.items()})
    return data


# --- the daily count on a magazine's books ----------------------------------------------------
def test_officer_declares_the_days_count_and_sees_the_mismatch(
    client: Any, world: World, magazine: Site, django_assert_max_num_queries: Any
) -> None:
    client.force_login(world.unit_a_officer)
    url = books_url(magazine)
    client.get(url)
    with django_assert_max_num_queries(10):
        page = client.get(url)
    html = page.content.decode()
    assert 'data-testid="count-form"' in html and 'name="count-q_explosive"' in html
    with django_assert_max_num_queries(25):
        done = client.post(url, count_post(electronic_detonator="12", explosive="30.5"))
    assert done.status_code == 302 and done["Location"] == url
    counts = {c.product: c for c in MagazineCount.objects.all()}
    assert set(counts) == {ELECTRONIC, "explosive"}
    assert counts["explosive"].quantity == Decimal("30.5")
    assert counts[ELECTRONIC].declared_by == world.unit_a_officer
    # nothing moved in the books: both counts differ from them, and the page says so
    shown = client.get(url)
    html = shown.content.decode()
    assert 'data-testid="mismatches"' in html and 'class="mismatch"' in html
    assert html.count('data-testid="difference"') == 2
    assert "The counts were declared." in html
    # today's figures come back in the form, ready to correct
    assert shown.context["count_form"]["q_explosive"].value() == Decimal("30.5")


def test_a_correction_replaces_the_count_and_keeps_the_history(
    client: Any, world: World, magazine: Site
) -> None:
    client.force_login(world.unit_a_principal)
    assert client.post(books_url(magazine), count_post(fuse="100")).status_code == 302
    assert client.post(books_url(magazine), count_post(fuse="98.5")).status_code == 302
    count = MagazineCount.objects.get()
    assert count.quantity == Decimal("98.5")
    history = AuditEntry.objects.filter(
        object_type="ledger.magazinecount", object_id=str(count.pk)
    ).order_by("seq")
    assert [e.action for e in history] == ["create", "update"]
    assert history[1].before["quantity"] == "100.000"


def test_count_form_errors_are_shown_on_the_fields(
    client: Any, world: World, magazine: Site
) -> None:
    client.force_login(world.unit_a_officer)
    url = books_url(magazine)
    future = (timezone.localdate() + timedelta(days=2)).isoformat()
    refused = client.post(url, {**count_post(nonel_detonator="2.5"), "count-day": future})
    assert refused.status_code == 200
    form = refused.context["count_form"]
    assert form.errors["day"] == ["The day cannot be in the future."]
    assert form.errors["q_nonel_detonator"] == ["Detonators are counted in whole pieces."]
    assert 'role="alert"' in refused.content.decode()
    negative = client.post(url, count_post(explosive="-1"))
    assert negative.context["count_form"].errors["q_explosive"] == [
        "The quantity cannot be negative."
    ]
    empty = client.post(url, count_post())
    assert empty.context["count_form"].non_field_errors() == [
        "Enter the count of at least one product."
    ]
    assert not MagazineCount.objects.exists()


@pytest.mark.parametrize("who", ["unit_a_employee", "county_a", "city", "admin"])
def test_only_the_units_managers_get_the_count_form(
    client: Any, world: World, magazine: Site, who: str
) -> None:
    client.force_login(getattr(world, who))
    page = client.get(books_url(magazine))
    assert page.status_code == 200
    assert page.context["count_form"] is None
    assert 'data-testid="count-form"' not in page.content.decode()
    assert client.post(books_url(magazine), count_post(fuse="1")).status_code == 403
    assert not MagazineCount.objects.exists()


def test_the_count_form_in_chinese(client: Any, world: World, magazine: Site) -> None:
    client.force_login(world.unit_a_officer)
    page = client.get(books_url(magazine), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "申报当日盘点数" in page and "雷管按整发计数" not in page
    refused = client.post(
        books_url(magazine), count_post(nonel_detonator="0.5"), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert refused.context["count_form"].errors["q_nonel_detonator"] == ["雷管按整发计数。"]


def test_another_units_magazine_is_not_found(client: Any, world: World, magazine: Site) -> None:
    client.force_login(world.unit_b_officer)
    assert client.post(books_url(magazine), count_post(fuse="1")).status_code == 404
    workshop = SiteFactory.create(enterprise=world.unit_a, kind=Site.Kind.WORKSHOP)
    client.force_login(world.unit_a_officer)
    assert client.get(books_url(workshop)).status_code == 404


# --- purchase permits and allowances ----------------------------------------------------------
def test_permit_list_for_each_persona(
    client: Any, world: World, permit: Permit, django_assert_max_num_queries: Any
) -> None:
    PermitAllowance.objects.create(permit=permit, product=ELECTRONIC, quantity=500)
    theirs = PermitFactory.create(enterprise=world.unit_b, kind=Permit.Kind.PURCHASE)
    sale = PermitFactory.create(enterprise=world.unit_a, kind=Permit.Kind.SALE)
    url = reverse("ledger-permit-list")
    client.force_login(world.county_a)
    client.get(url)
    with django_assert_max_num_queries(10) as few:
        listing = client.get(url)
    html = listing.content.decode()
    assert f'data-testid="permit-{permit.pk}"' in html
    assert f'data-testid="permit-{theirs.pk}"' not in html
    assert f'data-testid="permit-{sale.pk}"' not in html
    assert "500" in html
    for _ in range(4):
        more = PermitFactory.create(enterprise=world.unit_a, kind=Permit.Kind.PURCHASE)
        PermitAllowance.objects.create(permit=more, product="explosive", quantity=10)
    with django_assert_max_num_queries(len(few)):
        assert client.get(url).status_code == 200
    mine = client.get(url, {"unit": world.unit_a.pk, "number": permit.number[-6:]})
    assert [p.pk for p in mine.context["page"]] == [permit.pk]
    client.force_login(world.unit_b_officer)
    theirs_only = client.get(url)
    assert [p.pk for p in theirs_only.context["page"]] == [theirs.pk]
    assert "unit" not in theirs_only.context["form"].fields
    client.force_login(world.partner_user)
    assert client.get(url).status_code == 403


def test_regulator_sets_changes_and_removes_allowances(
    client: Any, world: World, permit: Permit, django_assert_max_num_queries: Any
) -> None:
    url = reverse("ledger-permit", args=[permit.pk])
    client.force_login(world.county_a)
    client.get(url)
    with django_assert_max_num_queries(10):
        page = client.get(url)
    assert 'data-testid="allowance-form"' in page.content.decode()
    set_it = {"allowance-product": ELECTRONIC, "allowance-quantity": "500"}
    assert client.post(url, set_it).status_code == 302
    assert client.post(url, {**set_it, "allowance-quantity": "800"}).status_code == 302
    allowance = PermitAllowance.objects.get()
    assert allowance.quantity == 800
    bad = client.post(url, {"allowance-product": "nonel_detonator", "allowance-quantity": "0"})
    assert bad.status_code == 200
    assert bad.context["form"].errors["quantity"] == ["The quantity must be more than 0."]
    shown = client.get(url).content.decode()
    assert 'data-testid="allowance-electronic_detonator"' in shown and "800" in shown
    assert client.post(url, {"remove": str(allowance.pk)}).status_code == 302
    assert not PermitAllowance.objects.exists()
    actions = AuditEntry.objects.filter(
        object_type="ledger.permitallowance", object_id=str(allowance.pk)
    ).values_list("action", flat=True)
    assert sorted(actions) == ["create", "delete", "update"]


def test_the_unit_reads_its_allowances_without_a_form(
    client: Any, world: World, permit: Permit
) -> None:
    PermitAllowance.objects.create(permit=permit, product=ELECTRONIC, quantity=500)
    url = reverse("ledger-permit", args=[permit.pk])
    client.force_login(world.unit_a_officer)
    page = client.get(url)
    assert page.status_code == 200 and page.context["form"] is None
    assert 'data-testid="allowance-electronic_detonator"' in page.content.decode()
    posted = client.post(url, {"allowance-product": ELECTRONIC, "allowance-quantity": "9"})
    assert posted.status_code == 403
    assert PermitAllowance.objects.get().quantity == 500
    client.force_login(world.county_b)
    assert client.get(url).status_code == 404
    client.force_login(world.unit_b_officer)
    assert client.get(url).status_code == 404
    sale = PermitFactory.create(enterprise=world.unit_a, kind=Permit.Kind.SALE)
    client.force_login(world.county_a)
    assert client.get(reverse("ledger-permit", args=[sale.pk])).status_code == 404


def test_over_permit_anomaly_and_permit_page_link_each_other(
    client: Any, world: World, permit: Permit
) -> None:
    anomaly = make_anomaly(
        world.unit_a,
        key=f"over_permit:{permit.number}",
        kind=Anomaly.Kind.OVER_PERMIT,
        subject=permit.number,
        evidence={"permit_id": permit.pk, "allowed": "5.000", "purchased": "10.000"},
    )
    client.force_login(world.county_a)
    detail = client.get(reverse("ledger-anomaly-detail", args=[anomaly.pk])).content.decode()
    assert reverse("ledger-permit", args=[permit.pk]) in detail
    page = client.get(reverse("ledger-permit", args=[permit.pk])).content.decode()
    assert 'data-testid="over-permit"' in page
    assert reverse("ledger-anomaly-detail", args=[anomaly.pk]) in page


def test_home_links_to_the_permits(client: Any, world: World) -> None:
    client.force_login(world.unit_a_employee)
    html = client.get(reverse("ledger-home")).content.decode()
    assert reverse("ledger-permit-list") in html
