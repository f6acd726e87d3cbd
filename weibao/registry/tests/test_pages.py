from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from weibao.registry.models import Enterprise
from weibao.registry.validators import make_uscc
from weibao.tests.factories import (
    CertificateFactory,
    EnterpriseFactory,
    PermitFactory,
    PersonFactory,
    SiteFactory,
    World,
)

pytestmark = pytest.mark.django_db


def populate(unit: Enterprise, n: int = 2) -> None:
    for _ in range(n):
        PermitFactory.create(enterprise=unit)
        SiteFactory.create(enterprise=unit)
        CertificateFactory.create(person=PersonFactory.create(enterprise=unit))


@pytest.mark.parametrize("name", ["enterprise-list", "enterprise-create", "registry-import"])
def test_anonymous_is_sent_to_sign_in(client: Any, name: str) -> None:
    response = client.get(reverse(name))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_list_is_scoped_and_filters(client: Any, world: World) -> None:
    client.force_login(world.county_a)
    body = client.get(reverse("enterprise-list")).content.decode()
    assert world.unit_a.name in body and world.unit_b.name not in body
    client.force_login(world.city)
    body = client.get(reverse("enterprise-list"), {"kind": "fireworks_wholesale"}).content.decode()
    assert world.unit_b.name in body and world.unit_a.name not in body


def test_list_query_count_is_constant(client: Any, world: World) -> None:
    client.force_login(world.city)
    client.get(reverse("enterprise-list"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("enterprise-list"))
    for _ in range(20):
        EnterpriseFactory.create(jurisdiction_id="430406")
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("enterprise-list"))
    assert len(few) == len(many) <= 10, [q["sql"][:80] for q in many.captured_queries]


def test_detail_shows_everything_in_constant_queries(client: Any, world: World) -> None:
    client.force_login(world.city)
    populate(world.unit_a, 1)
    client.get(reverse("enterprise-detail", args=[world.unit_a.pk]))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("enterprise-detail", args=[world.unit_a.pk]))
    populate(world.unit_a, 5)
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("enterprise-detail", args=[world.unit_a.pk]))
    assert response.status_code == 200
    assert len(few) == len(many) <= 20, [q["sql"][:80] for q in many.captured_queries]
    body = response.content.decode()
    assert world.unit_a.uscc in body and "****" in body  # identity numbers masked


def test_other_county_detail_is_404(client: Any, world: World) -> None:
    client.force_login(world.county_b)
    assert client.get(reverse("enterprise-detail", args=[world.unit_a.pk])).status_code == 404
    client.force_login(world.unit_b_officer)
    assert client.get(reverse("enterprise-detail", args=[world.unit_a.pk])).status_code == 404


def test_unit_sees_its_own_page(client: Any, world: World) -> None:
    client.force_login(world.unit_a_employee)
    assert client.get(reverse("enterprise-detail", args=[world.unit_a.pk])).status_code == 200
    assert client.get(reverse("enterprise-create")).status_code == 403
    assert client.get(reverse("enterprise-edit", args=[world.unit_a.pk])).status_code == 200


def test_register_a_unit_through_the_form(client: Any, world: World) -> None:
    client.force_login(world.county_a)
    data = {
        "uscc": make_uscc("430405", 31337),
        "name": "表单新单位",
        "kinds": ["blasting"],
        "jurisdiction": "430405",
        "status": "active",
    }
    response = client.post(reverse("enterprise-create"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Enterprise.objects.filter(name="表单新单位").exists()


def test_form_errors_name_the_field(client: Any, world: World) -> None:
    client.force_login(world.county_a)
    data = {
        "uscc": world.unit_a.uscc,
        "name": "重复",
        "kinds": ["blasting"],
        "jurisdiction": "430406",
        "status": "active",
    }
    response = client.post(reverse("enterprise-create"), data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not Enterprise.objects.filter(name="重复").exists()


def test_unit_edits_contact_data_on_its_page(client: Any, world: World) -> None:
    client.force_login(world.unit_a_officer)
    url = reverse("enterprise-edit", args=[world.unit_a.pk])
    response = client.post(url, {"phone": "0734-1111111", "address": "珠晖路1号"})
    assert response.status_code == 302
    world.unit_a.refresh_from_db()
    assert world.unit_a.phone == "0734-1111111"


def test_safety_officer_adds_a_permit_with_scan(
    client: Any, world: World, settings: Any, tmp_path: Any
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    client.force_login(world.unit_a_officer)
    url = reverse("unit-add", args=[world.unit_a.pk, "permit"])
    scan = SimpleUploadedFile("p.pdf", b"%PDF-1.4\n...", content_type="application/pdf")
    response = client.post(
        url,
        {
            "kind": "sale",
            "number": "页面-1",
            "issued_on": "2025-01-01",
            "expires_on": "2028-01-01",
            "attachment": scan,
        },
    )
    assert response.status_code == 302, response.content.decode()[:1500]
    permit = world.unit_a.permits.get(number="页面-1")
    assert permit.attachment


def test_bad_scan_writes_nothing(client: Any, world: World, settings: Any, tmp_path: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    client.force_login(world.unit_a_officer)
    url = reverse("unit-add", args=[world.unit_a.pk, "permit"])
    bad = SimpleUploadedFile("p.pdf", b"GIF89a", content_type="application/pdf")
    response = client.post(
        url,
        {
            "kind": "sale",
            "number": "页面-2",
            "issued_on": "2025-01-01",
            "expires_on": "2028-01-01",
            "attachment": bad,
        },
    )
    assert response.status_code == 200 and response.context["form"].errors
    assert not world.unit_a.permits.filter(number="页面-2").exists()


def test_employee_and_other_units_cannot_add(client: Any, world: World) -> None:
    client.force_login(world.unit_a_employee)
    assert client.get(reverse("unit-add", args=[world.unit_a.pk, "site"])).status_code == 403
    client.force_login(world.unit_b_officer)
    assert client.get(reverse("unit-add", args=[world.unit_a.pk, "site"])).status_code == 404
    client.force_login(world.city)
    assert client.get(reverse("unit-add", args=[world.unit_a.pk, "bogus"])).status_code == 404


def test_add_person_and_certificate(client: Any, world: World) -> None:
    from datetime import date

    from weibao.registry.validators import make_identity_number

    client.force_login(world.county_a)
    number = make_identity_number("430421", date(1986, 5, 5), 7)
    response = client.post(
        reverse("unit-add", args=[world.unit_a.pk, "person"]),
        {"name": "赵爆破", "identity_number": number, "post": "blaster", "is_active": "on"},
    )
    assert response.status_code == 302, response.context["form"].errors
    person = world.unit_a.people.get(name="赵爆破")
    url = reverse("certificate-add", args=[world.unit_a.pk, person.pk])
    bad = client.post(
        url,
        {"kind": "blaster", "number": "B9", "issued_on": "2025-01-01", "expires_on": "2024-01-01"},
    )
    assert bad.status_code == 200 and "expires_on" in bad.context["form"].errors
    ok = client.post(
        url,
        {"kind": "blaster", "number": "B9", "issued_on": "2025-01-01", "expires_on": "2028-01-01"},
    )
    assert ok.status_code == 302 and person.certificates.count() == 1
