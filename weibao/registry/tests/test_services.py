from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from weibao.registry import services
from weibao.registry.models import Permit
from weibao.tests.factories import World

pytestmark = pytest.mark.django_db

PERMIT = {
    "kind": "sale",
    "number": "服务层-1",
    "issued_on": "2025-01-01",
    "expires_on": "2028-01-01",
}


def test_services_check_the_object_not_just_the_role(world: World) -> None:
    """Defence in depth: even handed another county's unit, a service refuses."""
    for outsider in (
        world.county_b,
        world.unit_b_officer,
        world.unit_a_employee,
        world.partner_user,
    ):
        with pytest.raises(PermissionDenied):
            services.permit_create(actor=outsider, data={**PERMIT, "enterprise": world.unit_a})
    assert not Permit.objects.exists()
    services.permit_create(actor=world.county_a, data={**PERMIT, "enterprise": world.unit_a})
    services.permit_create(
        actor=world.unit_a_officer,
        data={**PERMIT, "number": "服务层-2", "enterprise": world.unit_a},
    )
    assert Permit.objects.count() == 2


def test_unit_edit_by_another_county_is_refused(world: World) -> None:
    with pytest.raises(PermissionDenied):
        services.enterprise_update(
            actor=world.county_b, enterprise=world.unit_a, data={"phone": "1"}
        )
