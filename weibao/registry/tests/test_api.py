from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from weibao.accounts.models import User
from weibao.core.models import AuditEntry
from weibao.registry.models import Enterprise, Permit, Person
from weibao.registry.validators import make_identity_number, make_uscc
from weibao.tests.contracts import ScopedApiContract
from weibao.tests.factories import (
    CertificateFactory,
    EnterpriseFactory,
    PermitFactory,
    PersonFactory,
    SiteFactory,
    World,
)

pytestmark = pytest.mark.django_db


def unit_for(world: World, county: str) -> Enterprise:
    return world.unit_a if county == "430405" else world.unit_b


class TestEnterpriseIsolation(ScopedApiContract):
    list_route = "api:enterprise-list"
    detail_route = "api:enterprise-detail"
    unit_sees_a = True

    def make(self, world: World, county: str) -> Enterprise:
        return EnterpriseFactory.create(jurisdiction_id=county)

    def test_unit_sees_only_itself(self, world: World, api: Any, pair: Any) -> None:
        # A unit sees itself, not other units of its own county.
        client = api(world.unit_a_officer)
        keys = self.visible_keys(client)
        assert keys == {str(world.unit_a.pk)}
        assert self.detail_status(client, pair[0]) == 404


class TestPermitIsolation(ScopedApiContract):
    list_route = "api:permit-list"
    detail_route = "api:permit-detail"
    partner_sees_a = False
    unit_sees_a = True

    def make(self, world: World, county: str) -> Permit:
        return PermitFactory.create(enterprise=unit_for(world, county))


class TestSiteIsolation(ScopedApiContract):
    list_route = "api:site-list"
    detail_route = "api:site-detail"
    partner_sees_a = False
    unit_sees_a = True

    def make(self, world: World, county: str) -> Any:
        return SiteFactory.create(enterprise=unit_for(world, county))


class TestPersonIsolation(ScopedApiContract):
    list_route = "api:person-list"
    detail_route = "api:person-detail"
    partner_sees_a = False
    unit_sees_a = True

    def make(self, world: World, county: str) -> Person:
        person = PersonFactory.create(enterprise=unit_for(world, county))
        CertificateFactory.create(person=person)
        return person


class TestCertificateIsolation(ScopedApiContract):
    list_route = "api:certificate-list"
    detail_route = "api:certificate-detail"
    partner_sees_a = False
    unit_sees_a = True

    def make(self, world: World, county: str) -> Any:
        return CertificateFactory.create(
            person=PersonFactory.create(enterprise=unit_for(world, county))
        )


def unit_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "uscc": make_uscc("430405", 987654),
        "name": "珠晖新民爆公司",
        "kinds": ["explosives_sale"],
        "jurisdiction": "430405",
        "principal": "王五",
        "location": {"latitude": "26.893", "longitude": "112.617"},
    }
    return {**body, **overrides}


class TestEnterpriseWrites:
    url = "/api/v1/enterprises/"

    def test_county_creates_in_its_county(self, world: World, api: Any) -> None:
        response = api(world.county_a).post(self.url, unit_body(), format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["kinds"] == ["explosives_sale"]
        assert body["location"] == {"latitude": "26.893000", "longitude": "112.617000"}
        assert AuditEntry.objects.filter(
            object_type="registry.enterprise", object_id=str(body["id"])
        ).exists()

    def test_county_cannot_create_in_another_county(self, world: World, api: Any) -> None:
        body = unit_body(jurisdiction="430406", uscc=make_uscc("430406", 1))
        response = api(world.county_a).post(self.url, body, format="json")
        assert response.status_code == 400
        assert "430406" in response.json()["errors"]["jurisdiction"][0]
        assert not Enterprise.objects.filter(uscc=body["uscc"]).exists()

    def test_city_creates_anywhere(self, world: World, api: Any) -> None:
        body = unit_body(jurisdiction="430481", uscc=make_uscc("430481", 1))
        assert api(world.city).post(self.url, body, format="json").status_code == 201

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            (
                "uscc",
                make_uscc("430405", 5)[:-1] + ("0" if make_uscc("430405", 5)[-1] != "0" else "1"),
            ),
            ("uscc", "123"),
            ("kinds", ["bakery"]),
            ("kinds", []),
            ("jurisdiction", "999999"),
            ("location", {"latitude": "91", "longitude": "0"}),
            ("location", {"latitude": 26.9, "longitude": 112.6}),  # decimals travel as strings
            ("status", "sleeping"),
        ],
    )
    def test_bad_input_is_a_field_error(
        self, world: World, api: Any, field: str, value: Any
    ) -> None:
        before = Enterprise.objects.count()
        response = api(world.city, language="zh-hans").post(
            self.url, unit_body(**{field: value}), format="json"
        )
        assert response.status_code == 400, response.content
        assert any(key.startswith(field) for key in response.json()["errors"])
        assert Enterprise.objects.count() == before

    def test_duplicate_uscc(self, world: World, api: Any) -> None:
        response = api(world.city).post(self.url, unit_body(uscc=world.unit_a.uscc), format="json")
        assert response.status_code == 400
        assert "already registered" in response.json()["errors"]["uscc"][0]

    def test_lowercase_uscc_is_normalised(self, world: World, api: Any) -> None:
        code = make_uscc("430405", 77).replace("9143", "9143")
        response = api(world.city).post(self.url, unit_body(uscc=code.lower()), format="json")
        assert response.status_code in (201, 400)

    def test_unit_edits_only_contact_data(self, world: World, api: Any) -> None:
        url = reverse("api:enterprise-detail", args=[world.unit_a.pk])
        client = api(world.unit_a_officer)
        assert client.patch(url, {"phone": "0734-8888888"}, format="json").status_code == 200
        refused = client.patch(url, {"name": "改名"}, format="json")
        assert refused.status_code == 403
        world.unit_a.refresh_from_db()
        assert world.unit_a.name == "珠晖民爆器材公司"

    @pytest.mark.parametrize("location", [{}, {"latitude": "26.9"}])
    def test_a_patched_location_needs_both_coordinates(
        self, world: World, api: Any, location: Any
    ) -> None:
        url = reverse("api:enterprise-detail", args=[world.unit_a.pk])
        Enterprise.objects.filter(pk=world.unit_a.pk).update(latitude="26.9", longitude="112.6")
        response = api(world.city).patch(url, {"location": location}, format="json")
        assert response.status_code == 400, response.content
        assert "location.longitude" in response.json()["errors"]
        world.unit_a.refresh_from_db()
        assert world.unit_a.longitude is not None
        cleared = api(world.city).patch(url, {"location": None}, format="json")
        assert cleared.status_code == 200 and cleared.json()["location"] is None

    def test_regulator_of_other_county_gets_404(self, world: World, api: Any) -> None:
        url = reverse("api:enterprise-detail", args=[world.unit_a.pk])
        assert api(world.county_b).patch(url, {"phone": "1"}, format="json").status_code == 404

    def test_partner_may_read_but_not_write(self, world: World, api: Any) -> None:
        url = reverse("api:enterprise-detail", args=[world.unit_a.pk])
        client = api(world.partner_user)
        assert client.get(url).status_code == 200
        assert client.patch(url, {"phone": "1"}, format="json").status_code == 403
        assert client.post(self.url, unit_body(), format="json").status_code == 403

    def test_filters(self, world: World, api: Any) -> None:
        PermitFactory.create(
            enterprise=world.unit_b, expires_on=timezone.localdate() - timedelta(days=1)
        )
        client = api(world.city)

        def ids(**q: Any) -> set[int]:
            return {r["id"] for r in client.get(self.url, q).json()["results"]}

        assert ids(kind="fireworks_wholesale") == {world.unit_b.pk}
        assert ids(jurisdiction="430405") == {world.unit_a.pk}
        assert ids(jurisdiction="430400") == {world.unit_a.pk, world.unit_b.pk}
        assert ids(permit_state="expired") == {world.unit_b.pk}
        assert ids(search=world.unit_a.uscc) == {world.unit_a.pk}


class TestPermits:
    url = "/api/v1/permits/"

    def body(self, world: World, **overrides: Any) -> dict[str, Any]:
        return {
            "enterprise": world.unit_a.pk,
            "kind": "sale",
            "number": "湘销2026-1",
            "issued_on": "2026-01-01",
            "expires_on": "2029-01-01",
            **overrides,
        }

    def test_derived_state(self, world: World, api: Any) -> None:
        today = timezone.localdate()
        for days, state in ((-1, "expired"), (0, "expiring"), (60, "expiring"), (61, "valid")):
            permit = PermitFactory.create(
                enterprise=world.unit_a, expires_on=today + timedelta(days=days)
            )
            body = api(world.city).get(reverse("api:permit-detail", args=[permit.pk])).json()
            assert body["state"] == state, days
        states = api(world.city).get(self.url, {"state": "expiring"}).json()
        assert states["count"] == 2

    def test_expiry_before_issue(self, world: World, api: Any) -> None:
        response = api(world.unit_a_officer).post(
            self.url, self.body(world, expires_on="2025-12-31"), format="json"
        )
        assert response.status_code == 400
        assert "expires_on" in response.json()["errors"]

    def test_unit_manager_adds_own_permit_not_others(self, world: World, api: Any) -> None:
        client = api(world.unit_a_officer)
        assert client.post(self.url, self.body(world), format="json").status_code == 201
        other = client.post(
            self.url, self.body(world, enterprise=world.unit_b.pk, number="x"), format="json"
        )
        assert other.status_code == 400  # unit B does not exist for unit A
        assert "enterprise" in other.json()["errors"]

    def test_employee_cannot_add_permits(self, world: World, api: Any) -> None:
        response = api(world.unit_a_employee).post(self.url, self.body(world), format="json")
        assert response.status_code == 403
        assert not Permit.objects.exists()

    def test_attachment_upload_and_download(
        self, world: World, api: Any, settings: Any, tmp_path: Any
    ) -> None:
        settings.MEDIA_ROOT = tmp_path
        permit = PermitFactory.create(enterprise=world.unit_a)
        url = reverse("api:permit-upload", args=[permit.pk])
        pdf = SimpleUploadedFile(
            "scan.pdf", b"%PDF-1.7\n%fake but well-formed enough\n", content_type="application/pdf"
        )
        response = api(world.unit_a_officer).post(url, {"file": pdf}, format="multipart")
        assert response.status_code == 200, response.content
        assert response.json()["has_attachment"] is True
        download = api(world.city).get(reverse("api:permit-attachment", args=[permit.pk]))
        assert download.status_code == 200
        assert b"".join(download.streaming_content).startswith(b"%PDF")
        assert (
            api(world.county_b).get(reverse("api:permit-attachment", args=[permit.pk])).status_code
            == 404
        )

    @pytest.mark.parametrize(
        ("name", "content"),
        [("scan.pdf", b"MZ\x90\x00 not a pdf"), ("big.pdf", b"%PDF-" + b"0" * (11 * 1024 * 1024))],
    )
    def test_bad_uploads(
        self, world: World, api: Any, settings: Any, tmp_path: Any, name: str, content: bytes
    ) -> None:
        settings.MEDIA_ROOT = tmp_path
        permit = PermitFactory.create(enterprise=world.unit_a)
        upload = SimpleUploadedFile(name, content)
        response = api(world.city).post(
            reverse("api:permit-upload", args=[permit.pk]), {"file": upload}, format="multipart"
        )
        assert response.status_code == 400
        permit.refresh_from_db()
        assert not permit.attachment
        assert list(tmp_path.iterdir()) == []


class TestPeople:
    url = "/api/v1/people/"

    def test_identity_masked_unless_permitted(self, world: World, api: Any) -> None:
        person = PersonFactory.create(enterprise=world.unit_a)
        url = reverse("api:person-detail", args=[person.pk])
        masked = api(world.city).get(url).json()["identity_number"]
        assert (
            masked.startswith("430")
            and "*" in masked
            and masked[-4:] == person.identity_number[-4:]
        )
        from django.contrib.auth.models import Permission

        world.city.user_permissions.add(Permission.objects.get(codename="view_identity_number"))
        city = User.objects.get(pk=world.city.pk)
        assert api(city).get(url).json()["identity_number"] == person.identity_number
        entry = AuditEntry.objects.get(object_type="registry.person", object_id=str(person.pk))
        assert entry.after is not None and entry.after["identity_number"] == "<redacted>"

    def test_create_with_certificates(self, world: World, api: Any) -> None:
        body = {
            "enterprise": world.unit_a.pk,
            "name": "李四",
            "post": "blaster",
            "identity_number": make_identity_number("430421", date(1990, 1, 1), 42),
            "appointed_on": "2024-01-01",
            "certificates": [
                {
                    "kind": "blaster",
                    "number": "BP001",
                    "issued_on": "2024-01-01",
                    "expires_on": "2027-01-01",
                }
            ],
        }
        response = api(world.unit_a_officer).post(self.url, body, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["certificates"][0]["state"] in {"valid", "expiring"}

    @pytest.mark.parametrize(
        "number", ["430421199001010420", "43042119901301042X", "430405199001010425", "12345"]
    )
    def test_bad_identity_numbers(self, world: World, api: Any, number: str) -> None:
        body = {
            "enterprise": world.unit_a.pk,
            "name": "李四",
            "post": "blaster",
            "identity_number": number,
        }
        response = api(world.city).post(self.url, body, format="json")
        assert response.status_code == 400
        assert "identity_number" in response.json()["errors"]

    def test_certificate_dates_checked_and_nothing_written(self, world: World, api: Any) -> None:
        body = {
            "enterprise": world.unit_a.pk,
            "name": "李四",
            "post": "blaster",
            "identity_number": make_identity_number("430421", date(1990, 1, 1), 43),
            "certificates": [
                {
                    "kind": "blaster",
                    "number": "B1",
                    "issued_on": "2024-01-01",
                    "expires_on": "2023-01-01",
                }
            ],
        }
        response = api(world.city).post(self.url, body, format="json")
        assert response.status_code == 400
        assert "certificates[0].expires_on" in response.json()["errors"]
        assert not Person.objects.filter(name="李四").exists()


def test_registry_list_query_counts_are_constant(world: World, api: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api(world.city)
    for _ in range(3):
        person = PersonFactory.create(enterprise=world.unit_a)
        CertificateFactory.create(person=person)
    client.get("/api/v1/people/")  # warm per-user caches (permissions)
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/people/")
    for _ in range(6):
        person = PersonFactory.create(enterprise=world.unit_b)
        CertificateFactory.create(person=person)
    with CaptureQueriesContext(connection) as many:
        client.get("/api/v1/people/")
    assert len(few) == len(many) <= 5, [q["sql"][:90] for q in few.captured_queries]
