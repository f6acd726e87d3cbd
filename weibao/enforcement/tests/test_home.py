"""The home page's case deadlines: open cases whose current deadline is near (within
settings.CASE_DEADLINE_NEAR_WORKING_DAYS working days) or passed, for their officers and their
county (and the city above it), never for another county, a unit or a partner department."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from weibao.core.workdays import add_working_days
from weibao.enforcement.models import Case, CaseStatus
from weibao.enforcement.selectors import cases_due, near_horizon
from weibao.tests.factories import CaseFactory, World

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture(autouse=True)
def _today() -> None:
    """Today as of each test, not as of the import: a run crossing midnight (Asia/Shanghai)
    would otherwise build yesterday's deadlines against today's pages."""
    global TODAY
    TODAY = timezone.localdate()


@pytest.fixture
def client(client: Any, settings: Any) -> Any:
    settings.LANGUAGE_CODE = "en"
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def case(world: World, deadline: Any, unit: Any = None, **fields: Any) -> Case:
    unit = unit or world.unit_a
    bureau = world.county_a_bureau if unit == world.unit_a else world.county_b_bureau
    fields.setdefault("officers", [world.county_a, world.county_a2])
    made: Case = CaseFactory.create(enterprise=unit, agency=bureau, deadline=deadline, **fields)
    return made


def due_ids(client: Any, user: Any) -> list[int] | None:
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    panel = response.context["cases_due"]
    return None if panel is None else [row.case.pk for row in panel.rows]


def test_near_uses_working_days(settings: Any) -> None:
    settings.CASE_DEADLINE_NEAR_WORKING_DAYS = 3
    assert near_horizon(TODAY) == add_working_days(TODAY, 3)


def test_officer_and_county_see_near_and_passed_cases(client: Any, world: World) -> None:
    passed = case(world, TODAY - timedelta(days=1), title="逾期")
    near = case(world, TODAY, title="今日到期")
    edge = case(world, near_horizon(TODAY))
    case(world, near_horizon(TODAY) + timedelta(days=1))  # not near yet
    case(world, None)  # nothing due
    case(world, TODAY - timedelta(days=9), status=CaseStatus.CLOSED)  # closed: nothing due
    colleague = case(world, TODAY - timedelta(days=2), officers=[world.county_a2])
    b = case(world, TODAY - timedelta(days=1), unit=world.unit_b, officers=[world.county_b])

    # The officer: his own cases first, then the county's.
    assert due_ids(client, world.county_a) == [passed.pk, near.pk, edge.pk, colleague.pk]
    client.force_login(world.county_a)
    response = client.get(reverse("home"))
    page = response.content.decode()
    panel = response.context["cases_due"]
    assert (panel.total, panel.passed, panel.near, panel.mine) == (4, 2, 2, 3)
    assert "Case deadlines" in page and passed.reference in page
    assert f"deadline {passed.deadline:%Y-%m-%d} passed" in page and "you handle it" in page
    assert b.reference not in page
    assert due_ids(client, world.county_b) == [b.pk]
    assert set(due_ids(client, world.city) or []) == {
        passed.pk,
        near.pk,
        edge.pk,
        colleague.pk,
        b.pk,
    }


@pytest.mark.parametrize("who", ["unit_a_officer", "unit_a_principal", "partner_user"])
def test_units_and_partners_have_no_case_panel(client: Any, world: World, who: str) -> None:
    case(world, TODAY - timedelta(days=1), status=CaseStatus.REGISTERED, registered_on=TODAY)
    assert due_ids(client, getattr(world, who)) is None
    assert "Case deadlines" not in client.get(reverse("home")).content.decode()


def test_panel_lists_at_most_ten_and_links_to_the_rest(client: Any, world: World) -> None:
    for i in range(12):
        case(world, TODAY - timedelta(days=i))
    client.force_login(world.county_a)
    response = client.get(reverse("home"))
    assert len(response.context["cases_due"].rows) == 10
    assert f'href="{reverse("case-list")}?deadline=due"' in response.content.decode()
    listed = client.get(reverse("case-list"), {"deadline": "due"})
    assert listed.context["page"].paginator.count == 12


def test_county_b_sees_nothing_of_county_a(world: World) -> None:
    case(world, TODAY - timedelta(days=3))
    panel = cases_due(world.county_b)
    assert panel is not None and panel.total == 0 and panel.rows == []


@pytest.mark.parametrize("who", ["county_a", "city", "admin"])
def test_home_query_count_does_not_grow_with_cases(client: Any, world: World, who: str) -> None:
    client.force_login(getattr(world, who))

    def measure(count: int) -> int:
        for i in range(count):
            case(world, TODAY + timedelta(days=(-2, 0, 1)[i % 3]))
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("home")).status_code == 200
        return len(queries)

    few = measure(2)
    assert measure(25) == few


def test_panel_is_one_query(world: World, django_assert_num_queries: Any) -> None:
    for i in range(12):
        case(
            world,
            TODAY - timedelta(days=i % 2),
            officers=[(world.county_a, world.county_a2)[i % 3 == 0]],
        )
    with django_assert_num_queries(1):
        panel = cases_due(world.county_a)
        assert panel is not None and len(panel.rows) == 10
    assert (panel.total, panel.passed, panel.near, panel.mine) == (12, 6, 6, 8)
    assert [row.mine for row in panel.rows] == [True] * 8 + [False] * 2
    with django_assert_num_queries(1):
        empty = cases_due(world.county_b)
    assert empty is not None and (empty.total, empty.mine, empty.rows) == (0, 0, [])
