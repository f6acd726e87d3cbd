"""The unit reads its own case as the party: what was served on it and what it handed in, never
the bureau's internal file (approval form, cover, evidence, escalation facts, review)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse

from weibao.enforcement import services
from weibao.tests.factories import World, case_at

pytestmark = pytest.mark.django_db

REVIEW = {
    "facts_clear": True,
    "evidence_sufficient": True,
    "procedure_lawful": True,
    "basis_correct": True,
    "penalty_appropriate": True,
    "documents_complete": True,
    "score": 92,
    "comments": "内部评查意见",
}


@pytest.fixture
def closed_case(world: World) -> Any:
    case = case_at(world, "closed", evidence=[{"rule": "major_overdue", "reference": "YH-1"}])
    services.case_review(actor=world.city, case=case, data=REVIEW)
    return case


def test_api_shows_the_party_only_what_was_served_on_it(
    world: World, api: Callable[..., Any], closed_case: Any
) -> None:
    url = reverse("api:case-detail", args=[closed_case.pk])
    bureau = api(world.county_a).get(url).json()
    party = api(world.unit_a_employee).get(url).json()
    assert {d["kind"] for d in bureau["documents"]} >= {"registration_approval", "file_cover"}
    assert {d["kind"] for d in party["documents"]} == {
        "penalty_notice",
        "defence_waiver",
        "penalty_decision",
    }
    assert bureau["evidence"] and bureau["review"]
    assert party["evidence"] == [] and party["review"] is None
    assert {e["action"] for e in party["events"]} <= {
        "register",
        "notify",
        "defence",
        "hearing",
        "decide",
        "pay",
        "execute",
        "close",
        "drop",
    }
    assert "investigate" in {e["action"] for e in bureau["events"]}
    # The approval form issued at registration is not even named to the party.
    registered = next(e for e in party["events"] if e["action"] == "register")
    assert registered["document"] is None
    assert next(e for e in bureau["events"] if e["action"] == "register")["document"]
    internal = closed_case.documents.get(kind="registration_approval")
    served = closed_case.documents.get(kind="penalty_decision")
    download = "api:case-document"
    client = api(world.unit_a_employee)
    assert client.get(reverse(download, args=[closed_case.pk, internal.pk])).status_code == 404
    assert client.get(reverse(download, args=[closed_case.pk, served.pk])).status_code == 200
    assert (
        api(world.county_a).get(reverse(download, args=[closed_case.pk, internal.pk])).status_code
        == 200
    )


def test_page_shows_the_party_only_what_was_served_on_it(
    world: World, client: Any, closed_case: Any
) -> None:
    client.force_login(world.unit_a_principal)
    page = client.get(reverse("case-detail", args=[closed_case.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "内部评查意见" not in text and "YH-1" not in text
    internal = closed_case.documents.get(kind="file_cover")
    assert internal.name not in text
    url = reverse("case-document", args=[closed_case.pk, internal.pk])
    assert client.get(url).status_code == 404
    client.force_login(world.county_a)
    bureau = client.get(reverse("case-detail", args=[closed_case.pk])).content.decode()
    assert "内部评查意见" in bureau and "YH-1" in bureau
    assert client.get(url).status_code == 200
