"""Shared test contracts: subclass one per resource and get its isolation tests for free.

A contract names the resource's list and detail routes and builds one object in county A and one
in county B; the tests prove, for the fixed personas, that the city sees both, county A never
sees county B (404, never 403), a partner sees only what it was granted, anonymous callers get a
401 from the API and a sign-in redirect from pages, and the list's query count does not grow
with the number of rows.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from weibao.tests.factories import World


class ScopedApiContract:
    list_route: ClassVar[str]  # e.g. "api:agency-list"
    detail_route: ClassVar[str]  # e.g. "api:agency-detail"
    lookup: ClassVar[str] = "pk"
    page_route: ClassVar[str | None] = None  # a page listing the same rows
    partner_sees_a: ClassVar[bool] = True  # the world's partner is granted county A
    # Unit A's staff: True if they see county A's object (it is unit A's), False if they see
    # neither. Either way they never see county B's.
    unit_sees_a: ClassVar[bool] = False
    max_list_queries: ClassVar[int] = 6

    def make(self, world: World, county: str) -> Any:
        """Create one object placed in `county` (a division code); return it."""
        raise NotImplementedError

    def key(self, obj: Any) -> str:
        return str(getattr(obj, self.lookup))

    def visible_keys(self, client: Any) -> set[str]:
        response = client.get(reverse(self.list_route), {"page_size": 500})
        if response.status_code == 403:
            return set()
        assert response.status_code == 200, response.content
        return {
            str(row[self.lookup if self.lookup != "pk" else "id"])
            for row in response.json()["results"]
        }

    def detail_status(self, client: Any, obj: Any) -> int:
        status: int = client.get(reverse(self.detail_route, args=[self.key(obj)])).status_code
        return status

    @pytest.fixture
    def pair(self, world: World) -> tuple[Any, Any]:
        return self.make(world, "430405"), self.make(world, "430406")

    def test_city_sees_every_county(self, world: World, api: Any, pair: tuple[Any, Any]) -> None:
        a, b = pair
        client = api(world.city)
        assert {self.key(a), self.key(b)} <= self.visible_keys(client)
        assert self.detail_status(client, a) == 200
        assert self.detail_status(client, b) == 200

    def test_county_a_never_sees_county_b(
        self, world: World, api: Any, pair: tuple[Any, Any]
    ) -> None:
        a, b = pair
        client = api(world.county_a)
        keys = self.visible_keys(client)
        assert self.key(a) in keys
        assert self.key(b) not in keys
        assert self.detail_status(client, a) == 200
        assert self.detail_status(client, b) == 404

    def test_county_b_never_sees_county_a(
        self, world: World, api: Any, pair: tuple[Any, Any]
    ) -> None:
        a, b = pair
        client = api(world.county_b)
        assert self.key(a) not in self.visible_keys(client)
        assert self.detail_status(client, a) == 404
        assert self.detail_status(client, b) == 200

    def test_partner_sees_only_what_it_was_granted(
        self, world: World, api: Any, pair: tuple[Any, Any]
    ) -> None:
        a, b = pair
        client = api(world.partner_user)
        keys = self.visible_keys(client)
        assert (self.key(a) in keys) is self.partner_sees_a
        assert self.key(b) not in keys
        assert self.detail_status(client, b) == 404
        assert self.detail_status(client, a) == (200 if self.partner_sees_a else 404)

    def test_unit_sees_only_itself(self, world: World, api: Any, pair: tuple[Any, Any]) -> None:
        a, b = pair
        for user in (world.unit_a_officer, world.unit_a_employee):
            client = api(user)
            keys = self.visible_keys(client)
            assert (self.key(a) in keys) is self.unit_sees_a
            assert self.key(b) not in keys
            assert self.detail_status(client, b) == 404

    def test_anonymous_gets_401(self, world: World, api: Any, pair: tuple[Any, Any]) -> None:
        a, _b = pair
        client = api()
        list_response = client.get(reverse(self.list_route))
        assert list_response.status_code == 401
        assert list_response["Content-Type"] == "application/problem+json"
        assert self.detail_status(client, a) == 401

    def test_page_redirects_anonymous_to_sign_in(self, client: Any, world: World) -> None:
        if self.page_route is None:
            pytest.skip("no page for this resource")
        response = client.get(reverse(self.page_route))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))

    def test_list_query_count_does_not_grow(self, world: World, api: Any) -> None:
        client = api(world.city)
        self.make(world, "430405")
        client.get(reverse(self.list_route))  # warm per-user caches (permissions)
        with CaptureQueriesContext(connection) as few:
            client.get(reverse(self.list_route))
        for _ in range(5):
            self.make(world, "430406")
        with CaptureQueriesContext(connection) as many:
            client.get(reverse(self.list_route))
        assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
        assert len(many) <= self.max_list_queries, [q["sql"] for q in many.captured_queries]
