from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from weibao.accounts.demo import DEMO_PASSWORD, PERSONAS, load_demo
from weibao.core.models import AuditEntry
from weibao.tests.factories import PASSWORD, World

pytestmark = pytest.mark.django_db

# 8, plus one for the case deadlines panel (enforcement.selectors.cases_due) and one for the
# internal-report tiles (accounts.selectors.report_tiles).
HOME_MAX_QUERIES = 10


@pytest.mark.parametrize(
    "page", ["home", "agencies", "jurisdictions", "audit-list", "password-change"]
)
def test_pages_redirect_anonymous_to_sign_in(client: Any, page: str) -> None:
    response = client.get(reverse(page))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_sign_in_and_out(client: Any, world: World) -> None:
    response = client.post(reverse("login"), {"username": "county_a", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    home = client.get(reverse("home"))
    assert home.status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


def test_wrong_password_is_a_form_error(client: Any, world: World) -> None:
    response = client.post(
        reverse("login"), {"username": "county_a", "password": "x"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert "password is wrong" in response.content.decode()


def test_sign_in_is_throttled(client: Any, world: World) -> None:
    for _ in range(5):
        client.post(reverse("login"), {"username": "county_a", "password": "x"})
    response = client.post(
        reverse("login"), {"username": "county_a", "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert "Too many failed sign-in attempts" in response.content.decode()


@pytest.mark.parametrize("who", ["city", "county_a", "county_b", "partner_user", "admin"])
def test_home_for_each_persona_counts_only_what_they_see(
    client: Any, world: World, who: str
) -> None:
    user = getattr(world, who)
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert len(queries) <= HOME_MAX_QUERIES, [q["sql"] for q in queries.captured_queries]
    tiles = {t.label: t.count for t in response.context["summary"]}
    if who == "county_a":
        assert tiles["Public-security bureaus"] == 1
        assert (
            tiles["Recorded changes"]
            == AuditEntry.objects.filter(scope_code__startswith="430405").count()
        )
    if who == "city":
        assert tiles["Public-security bureaus"] == 3
    if who == "partner_user":
        assert tiles == {"Units": 1, "Public-security bureaus": 1, "Partner departments": 1}


def test_county_list_page_shows_only_its_county(client: Any, world: World) -> None:
    client.force_login(world.county_a)
    body = client.get(reverse("agencies")).content.decode()
    assert world.county_a_bureau.name in body
    assert world.county_b_bureau.name not in body


def test_object_history_page(client: Any, world: World) -> None:
    client.force_login(world.city)
    url = reverse("audit-object", args=["accounts.agency", world.county_b_bureau.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 1
    client.force_login(world.county_a)
    assert len(client.get(url).context["page"].object_list) == 0
    client.force_login(world.partner_user)
    assert client.get(url).status_code == 403


def test_language_switch(client: Any, world: World) -> None:
    client.force_login(world.city)
    assert "欢迎" in client.get(reverse("home")).content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "Welcome" in client.get(reverse("home")).content.decode()


def test_language_follows_browser(client: Any, world: World) -> None:
    client.force_login(world.city)
    assert "Welcome" in client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert "欢迎" in client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()


def test_password_change(client: Any, world: World) -> None:
    client.force_login(world.county_a)
    response = client.post(
        reverse("password-change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-long-secret-42",
            "new_password2": "a-new-long-secret-42",
        },
    )
    assert response.status_code == 302
    world.county_a.refresh_from_db()
    assert world.county_a.check_password("a-new-long-secret-42")


def test_navigation_follows_role(client: Any, world: World) -> None:
    client.force_login(world.partner_user)
    body = client.get(reverse("home")).content.decode()
    assert reverse("audit-list") not in body
    client.force_login(world.city)
    assert reverse("audit-list") in client.get(reverse("home")).content.decode()


def test_pages_load_nothing_from_outside(client: Any, world: World) -> None:
    client.force_login(world.city)
    body = client.get(reverse("home")).content.decode()
    assert "https://" not in body and "//cdn" not in body


def test_demo_is_idempotent_and_logins_work(client: Any, db: None) -> None:
    load_demo()
    counts = (AuditEntry.objects.count(),)
    again = load_demo()
    assert set(again) >= {"agencies", "users", "grants"} and not any(again.values()), again
    assert (AuditEntry.objects.count(),) == counts
    for persona in PERSONAS:
        assert client.login(username=persona.username, password=DEMO_PASSWORD), persona
