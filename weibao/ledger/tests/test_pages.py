"""The ledger's pages for each persona (with their query counts), and the books' figures on a small
history: the unit's and the magazine's, the balance brought forward, reused codes, declared
counts, and the .xlsx."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from weibao.ledger import books
from weibao.ledger.ingest import ingest_rows
from weibao.ledger.models import Anomaly, MagazineCount
from weibao.ledger.tests.test_api import make_anomaly, unit_user
from weibao.ledger.tests.test_ingest import T0, at, chain, produce
from weibao.tests.factories import LedgerWorld, World, ledger_world, shell_code

pytestmark = pytest.mark.django_db
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def day(hours: float) -> date:
    return timezone.localtime(T0 + timedelta(hours=hours)).date()


@pytest.fixture
def lw(world: World) -> LedgerWorld:
    ledger = ledger_world(world)
    reused = dict(produce(ledger, range(3, 4))[0], at=at(10))  # code 3 produced again: evidence
    assert ingest_rows([*chain(ledger), reused]).accepted
    return ledger


def figures(book: books.Book) -> dict[tuple[date, str], tuple[int, int, int]]:
    return {
        (line.day, line.product): (int(line.inflow), int(line.outflow), int(line.on_hand))
        for line in book.lines
        if line.day is not None
    }


def merged(*entries: tuple[date, int, int]) -> dict[tuple[date, str], tuple[int, int, int]]:
    """Expected lines (day, in, out) → with the running balance; days that coincide add up."""
    by_day: dict[date, list[int]] = {}
    for d, got, gone in entries:
        by_day.setdefault(d, [0, 0])
        by_day[d][0] += got
        by_day[d][1] += gone
    out, balance = {}, 0
    for d in sorted(by_day):
        got, gone = by_day[d]
        balance += got - gone
        out[(d, "electronic_detonator")] = (got, gone, balance)
    return out


# --- the books' figures ----------------------------------------------------------------------
def test_unit_books(lw: LedgerWorld) -> None:
    start, end = day(0), day(60)
    producer = books.unit_book(enterprise=lw.producer, start=start, end=end)
    # ten produced (the reused code does not count twice), the case of ten shipped
    assert figures(producer) == merged((day(0), 10, 0), (day(3), 0, 10))
    assert producer.closing == {"electronic_detonator": Decimal(0)}
    seller = books.unit_book(enterprise=lw.seller, start=start, end=end)
    # the case of ten received; the first box (five) shipped on
    assert figures(seller) == merged((day(20), 10, 0), (day(30), 0, 5))
    contractor = books.unit_book(enterprise=lw.contractor, start=start, end=end)
    # the box received; one detonator fired (the issue and the return stay inside the unit)
    assert figures(contractor) == merged((day(40), 5, 0), (day(55), 0, 1))


def test_magazine_books_and_declared_counts(lw: LedgerWorld) -> None:
    # The day before anything came in, the custodian declared one: a mismatch. On the last
    # day, four: what the books say.
    for when, quantity in ((day(0), 1), (day(55), 4)):
        MagazineCount.objects.create(
            site=lw.contractor_magazine, day=when, product="electronic_detonator", quantity=quantity
        )
    book = books.site_book(site=lw.contractor_magazine, start=day(0), end=day(60))
    # stored five; two issued from it; one returned to it
    expected = merged((day(0), 0, 0), (day(41), 5, 0), (day(50), 0, 2), (day(55), 1, 0))
    assert figures(book) == expected
    declared = {line.day: (line.declared, line.difference) for line in book.lines}
    assert declared[day(0)] == (Decimal(1), Decimal(1))
    assert declared[day(55)] == (Decimal(4), Decimal(0))
    assert book.mismatches == 1
    producer = books.site_book(site=lw.producer_magazine, start=day(0), end=day(60))
    # produced into it, shipped from it (the case left from where its detonators were)
    assert figures(producer) == merged((day(0), 10, 0), (day(3), 0, 10))


def test_balance_brought_forward(lw: LedgerWorld) -> None:
    book = books.unit_book(enterprise=lw.seller, start=day(30), end=day(30))
    assert book.opening == {"electronic_detonator": Decimal(10)}
    assert figures(book) == {(day(30), "electronic_detonator"): (0, 5, 5)}
    empty = books.unit_book(enterprise=lw.seller, start=day(80), end=day(90))
    assert empty.lines == [] and empty.closing == {"electronic_detonator": Decimal(5)}


def test_books_cost_a_fixed_number_of_queries(lw: LedgerWorld) -> None:
    with CaptureQueriesContext(connection) as unit:
        books.unit_book(enterprise=lw.contractor, start=day(0), end=day(60))
    with CaptureQueriesContext(connection) as site:
        books.site_book(site=lw.contractor_magazine, start=day(0), end=day(60))
    assert len(unit) == 2 and len(site) == 3


def test_books_xlsx(client: Any, world: World, lw: LedgerWorld) -> None:
    client.force_login(world.unit_a_officer)
    response = client.get(
        reverse("ledger-books"),
        {"start": day(0).isoformat(), "end": day(60).isoformat(), "format": "xlsx"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    sheet: Any = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("day", "product", "measured in", "in", "out", "on hand")
    assert rows[-1][1:] == ("Electronic detonator", "pieces", 0, 1, 4)
    magazine = client.get(
        reverse("ledger-site-books", args=[lw.contractor_magazine.pk]), {"format": "xlsx"}
    )
    magazine_sheet: Any = load_workbook(io.BytesIO(magazine.content)).active
    header = next(magazine_sheet.iter_rows(values_only=True))
    assert len(header) == 8


# --- pages for each persona ------------------------------------------------------------------
@pytest.mark.parametrize("who", ["city", "county_a", "admin", "unit_a_officer", "unit_a_employee"])
def test_home_for_each_persona(
    client: Any, world: World, who: str, django_assert_max_num_queries: Any
) -> None:
    make_anomaly(world.unit_a, severity=Anomaly.Severity.CRITICAL)
    client.force_login(getattr(world, who))
    client.get(reverse("ledger-home"))
    with django_assert_max_num_queries(10):
        response = client.get(reverse("ledger-home"))
    assert response.status_code == 200
    assert 'data-testid="search"' in response.content.decode()


def test_home_is_not_for_partners_and_asks_anonymous_to_sign_in(client: Any, world: World) -> None:
    assert client.get(reverse("ledger-home")).status_code == 302
    client.force_login(world.partner_user)
    assert client.get(reverse("ledger-home")).status_code == 403
    assert client.get(reverse("ledger-anomaly-list")).status_code == 403


def test_search_finds_a_code_or_a_chip_uid(client: Any, world: World, lw: LedgerWorld) -> None:
    client.force_login(world.unit_a_officer)
    found = client.get(reverse("ledger-home"), {"code": shell_code(1).lower()})
    assert found.status_code == 302
    assert found["Location"] == reverse("ledger-item", args=[shell_code(1)])
    by_uid = client.get(reverse("ledger-home"), {"code": f"{2:016X}"})
    assert by_uid["Location"] == reverse("ledger-item", args=[shell_code(2)])
    # never held by unit A: as if it did not exist
    hidden = client.get(reverse("ledger-home"), {"code": shell_code(7)})
    assert hidden.status_code == 200 and 'data-testid="not-found"' in hidden.content.decode()


def test_search_by_chip_uid_in_any_case_within_scope(
    client: Any, world: World, lw: LedgerWorld, django_assert_max_num_queries: Any
) -> None:
    home = reverse("ledger-home")
    client.force_login(world.city)
    client.get(home, {"code": "000000000000000a"})
    with django_assert_max_num_queries(7):  # the session and user, the lookup, the trace
        by_uid = client.get(home, {"code": " 000000000000000a "})  # stored 000000000000000A
    assert by_uid["Location"] == reverse("ledger-item", args=[shell_code(10)])
    # Unit B never held detonator 1 (unit A's): not found, and the page names what was typed,
    # not the shell code behind the UID.
    client.force_login(world.unit_b_officer)
    # the home's own, the lookup by code or UID, and the trace it may not read
    with django_assert_max_num_queries(12):
        hidden = client.get(home, {"code": "0000000000000001"}, HTTP_ACCEPT_LANGUAGE="en")
    html = hidden.content.decode()
    assert hidden.status_code == 200 and shell_code(1) not in html
    assert not_found(html) == "No item you may see has the code 0000000000000001."
    # The same answer as for a UID that is nowhere in the ledger.
    nowhere = client.get(home, {"code": "00000000000000ff"}, HTTP_ACCEPT_LANGUAGE="en")
    assert not_found(nowhere.content.decode()) == (
        "No item you may see has the code 00000000000000FF."
    )


def not_found(html: str) -> str:
    found = re.search(r'data-testid="not-found">([^<]*)<', html)
    assert found is not None
    return found.group(1)


def test_item_page(
    client: Any, world: World, lw: LedgerWorld, django_assert_max_num_queries: Any
) -> None:
    client.force_login(world.unit_a_officer)
    url = reverse("ledger-item", args=[shell_code(1)])
    client.get(url)
    with django_assert_max_num_queries(12):
        response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('data-testid="event-') == 11
    assert 'id="trace-map"' in html and "vendor/leaflet/leaflet.js" in html
    assert '"source": "event"' in html and "26.97" in html
    assert "http://" not in html.split("<body")[1] and "https://" not in html.split("<body")[1]
    client.force_login(world.unit_b_officer)
    assert client.get(url).status_code == 404


def test_books_pages(
    client: Any, world: World, lw: LedgerWorld, django_assert_max_num_queries: Any
) -> None:
    query = {"start": day(0).isoformat(), "end": day(60).isoformat()}
    client.force_login(world.unit_a_officer)
    with django_assert_max_num_queries(12):
        own = client.get(reverse("ledger-books"), query)
    html = own.content.decode()
    assert own.status_code == 200 and 'data-testid="book"' in html
    assert f'data-testid="line-{day(55).isoformat()}-electronic_detonator"' in html
    assert reverse("ledger-site-books", args=[lw.contractor_magazine.pk]) in html
    # a unit reads its own books whatever unit it names
    other = client.get(reverse("ledger-books"), {**query, "unit": lw.seller.pk})
    assert other.context["book"].enterprise == lw.contractor
    assert client.get(reverse("ledger-site-books", args=[lw.seller_magazine.pk])).status_code == 404
    site = client.get(reverse("ledger-site-books", args=[lw.contractor_magazine.pk]), query)
    assert site.status_code == 200
    client.force_login(world.county_a)
    picker = client.get(reverse("ledger-books"))
    assert 'data-testid="pick-unit"' in picker.content.decode()
    with django_assert_max_num_queries(14):
        chosen = client.get(reverse("ledger-books"), {**query, "unit": lw.seller.pk})
    assert chosen.context["book"].enterprise == lw.seller
    assert client.get(reverse("ledger-site-books", args=[lw.seller_magazine.pk])).status_code == 200
    client.force_login(world.county_b)
    hidden = client.get(reverse("ledger-books"), {"unit": lw.seller.pk})
    assert hidden.context["book"] is None and hidden.context["form"].errors
    assert client.get(reverse("ledger-site-books", args=[lw.seller_magazine.pk])).status_code == 404
    too_long = client.get(reverse("ledger-books"), {"start": "2020-01-01", "end": "2026-01-01"})
    assert too_long.context["form"].errors


def test_anomaly_pages(client: Any, world: World, django_assert_max_num_queries: Any) -> None:
    for _ in range(3):
        make_anomaly(world.unit_a)
    anomaly = make_anomaly(world.unit_a, severity=Anomaly.Severity.CRITICAL)
    theirs = make_anomaly(world.unit_b)
    client.force_login(world.county_a)
    client.get(reverse("ledger-anomaly-list"))
    with django_assert_max_num_queries(10):
        listing = client.get(reverse("ledger-anomaly-list"))
    html = listing.content.decode()
    assert f'data-testid="anomaly-{anomaly.pk}"' in html
    assert f'data-testid="anomaly-{theirs.pk}"' not in html
    critical = client.get(reverse("ledger-anomaly-list"), {"severity": "critical"})
    assert list(critical.context["page"]) == [anomaly]
    url = reverse("ledger-anomaly-detail", args=[anomaly.pk])
    with django_assert_max_num_queries(10):
        detail = client.get(url)
    html = detail.content.decode()
    assert 'data-testid="evidence"' in html and "lost" in html
    assert 'data-testid="status-form"' in html
    refused = client.post(url, {"status": "closed", "explanation": ""})
    assert refused.status_code == 200 and refused.context["form"].errors
    done = client.post(url, {"status": "confirmed_loss", "explanation": ""})
    assert done.status_code == 302
    anomaly.refresh_from_db()
    assert anomaly.status == "confirmed_loss"
    assert client.get(reverse("ledger-anomaly-detail", args=[theirs.pk])).status_code == 404


def test_anomaly_page_for_the_unit(client: Any, world: World) -> None:
    anomaly = make_anomaly(world.unit_a)
    url = reverse("ledger-anomaly-detail", args=[anomaly.pk])
    client.force_login(world.unit_a_employee)
    page = client.get(url)
    assert page.status_code == 200 and 'data-testid="status-form"' not in page.content.decode()
    assert client.post(url, {"status": "explained", "explanation": "x"}).status_code == 403
    client.force_login(world.unit_a_officer)
    offered = client.get(url).context["form"].fields["status"].choices
    assert [value for value, _label in offered] == ["explained"]
    explained = client.post(url, {"status": "explained", "explanation": "盘点差错，已更正"})
    assert explained.status_code == 302
    anomaly.refresh_from_db()
    assert anomaly.status == "explained" and anomaly.explanation == "盘点差错，已更正"
    assert client.get(url).context["form"] is None  # the bureau decides now


def test_navigation_offers_traceability(client: Any, world: World) -> None:
    for user, shown in (
        (world.city, True),
        (world.unit_a_employee, True),
        (world.partner_user, False),
    ):
        client.force_login(user)
        html = client.get(reverse("home")).content.decode()
        assert (reverse("ledger-home") in html) is shown


def test_seller_account_sees_its_former_item(client: Any, world: World, lw: LedgerWorld) -> None:
    client.force_login(unit_user(lw.seller))
    assert client.get(reverse("ledger-item", args=[shell_code(1)])).status_code == 200
