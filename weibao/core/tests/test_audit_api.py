from __future__ import annotations

from typing import Any

import pytest

from weibao.core.models import AuditEntry
from weibao.tests.contracts import ScopedApiContract
from weibao.tests.factories import AgencyFactory, World

pytestmark = pytest.mark.django_db


class TestAuditIsolation(ScopedApiContract):
    list_route = "api:audit-list"
    detail_route = "api:audit-detail"
    lookup = "seq"
    page_route = "audit-list"
    partner_sees_a = False  # history is never shared with partner departments

    def make(self, world: World, county: str) -> AuditEntry:
        agency = AgencyFactory.create(jurisdiction_id=county)
        return AuditEntry.objects.get(object_type="accounts.agency", object_id=str(agency.pk))

    def test_partner_is_refused_the_list(self, world: World, api: Any) -> None:
        assert api(world.partner_user).get("/api/v1/audit/").status_code == 403

    def test_filter_by_object(self, world: World, api: Any) -> None:
        agency = AgencyFactory.create(jurisdiction_id="430405")
        agency.phone = "1"
        agency.save()
        rows = (
            api(world.city)
            .get("/api/v1/audit/", {"object_type": "accounts.agency", "object_id": agency.pk})
            .json()["results"]
        )
        assert [r["action"] for r in rows] == ["update", "create"]
