from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from weibao.accounts.models import User
from weibao.hazards.models import Hazard
from weibao.hazards.selectors import hazard_counts
from weibao.registry.models import Enterprise
from weibao.tests.factories import HazardFactory, World

pytestmark = pytest.mark.django_db

DUE = f"Hazards due within {settings.HAZARD_REMIND_DAYS_BEFORE} days"
OVERDUE = "Overdue hazards"
AWAITING = "Awaiting acceptance"


def hazard(unit: Enterprise, days: int, **kwargs: Any) -> Hazard:
    today = timezone.localdate()
    return HazardFactory.create(
        enterprise=unit,
        found_on=today - timedelta(days=40),
        deadline=today + timedelta(days=days),
        **kwargs,
    )


def ledger(world: World) -> None:
    a, b = world.unit_a, world.unit_b
    awaiting = Hazard.Status.AWAITING_ACCEPTANCE
    hazard(a, 2)  # due soon
    hazard(a, settings.HAZARD_REMIND_DAYS_BEFORE + 1)  # not yet
    hazard(a, -1, status=Hazard.Status.RECTIFYING)  # overdue
    hazard(a, -1, status=awaiting)  # the bureau accepts (found by an inspection)
    hazard(a, 5, status=awaiting, source=Hazard.Source.SELF_INSPECTION)  # the unit accepts
    hazard(
        a,
        5,
        status=awaiting,
        source=Hazard.Source.INTERNAL_REPORT,
        level=Hazard.Level.MAJOR,
    )  # major: the bureau accepts
    hazard(a, -9, status=Hazard.Status.CLOSED)
    hazard(b, -3)  # overdue in county B
    hazard(b, 1, status=awaiting)  # handed in: no longer "due"


def tiles(client: Any, user: User) -> dict[str, int]:
    client.force_login(user)
    response = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return {t.label: t.count for t in response.context["summary"]}


def hazard_tiles(found: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in found.items() if k in (DUE, OVERDUE, AWAITING)}


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("unit_a_officer", {DUE: 1, OVERDUE: 1, AWAITING: 1}),
        ("unit_a_principal", {DUE: 1, OVERDUE: 1, AWAITING: 1}),
        ("unit_a_employee", {DUE: 1, OVERDUE: 1}),
        ("unit_b_officer", {DUE: 0, OVERDUE: 1, AWAITING: 0}),
        ("county_a", {DUE: 1, OVERDUE: 1, AWAITING: 2}),
        ("county_b", {DUE: 0, OVERDUE: 1, AWAITING: 1}),
        ("city", {DUE: 1, OVERDUE: 2, AWAITING: 3}),
        ("admin", {DUE: 1, OVERDUE: 2, AWAITING: 4}),
        ("partner_user", {}),
    ],
)
def test_hazard_tiles_per_persona(
    client: Any, world: World, who: str, expected: dict[str, int]
) -> None:
    ledger(world)
    assert hazard_tiles(tiles(client, getattr(world, who))) == expected


def test_county_b_sees_nothing_of_county_a(client: Any, world: World) -> None:
    hazard(world.unit_a, 1)
    hazard(world.unit_a, -1)
    hazard(world.unit_a, 1, status=Hazard.Status.AWAITING_ACCEPTANCE)
    assert hazard_tiles(tiles(client, world.county_b)) == {DUE: 0, OVERDUE: 0, AWAITING: 0}
    assert hazard_counts(world.county_b)["open"] == 0
    assert hazard_counts(world.county_a)["open"] == 3


def test_tiles_link_to_the_hazard_list(client: Any, world: World) -> None:
    client.force_login(world.county_a)
    response = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en")
    queries = {t.label: t.query for t in response.context["summary"]}
    assert queries[DUE] == f"due_within={settings.HAZARD_REMIND_DAYS_BEFORE}&overdue=false"
    assert queries[OVERDUE] == "overdue=true"
    assert queries[AWAITING] == "to_accept=true"
    try:
        url = reverse("hazard-list")
    except NoReverseMatch:  # the list page is not routed yet: the tiles render without links
        mine = [t for t in response.context["summary"] if t.label in (DUE, OVERDUE, AWAITING)]
        assert [t.url_name for t in mine] == ["", "", ""]
        return
    body = response.content.decode()
    assert f'href="{url}?overdue=true"' in body
    assert f'href="{url}?to_accept=true"' in body
    assert f'href="{url}?due_within={settings.HAZARD_REMIND_DAYS_BEFORE}&amp;overdue=false"' in body


@pytest.mark.parametrize("who", ["county_a", "city", "unit_a_officer"])
def test_home_query_count_does_not_grow_with_hazards(client: Any, world: World, who: str) -> None:
    user = getattr(world, who)
    client.force_login(user)

    def measure(count: int) -> int:
        for i in range(count):
            hazard(world.unit_a, (-2, 1, 5)[i % 3])
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("home")).status_code == 200
        return len(queries)

    few = measure(3)
    assert measure(27) == few
    assert hazard_counts(user)["open"] == 30
