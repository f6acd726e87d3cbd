from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from weibao.core.models import Notification
from weibao.registry import compliance
from weibao.registry.models import ComplianceRule, Enterprise, Person
from weibao.tests.factories import CertificateFactory, PermitFactory, PersonFactory, World

pytestmark = pytest.mark.django_db


def rules(unit: Enterprise) -> set[str]:
    loaded = compliance.with_registry(Enterprise.objects.filter(pk=unit.pk)).get()
    return {f.rule for f in compliance.evaluate(loaded, compliance.enabled_rules())}


def compliant(unit: Enterprise) -> Enterprise:
    """Give a sale-and-storage unit everything the default rules ask for."""
    PermitFactory.create(enterprise=unit, kind="sale")
    officer = PersonFactory.create(enterprise=unit, post=Person.Post.SAFETY_OFFICER)
    CertificateFactory.create(person=officer)
    return unit


def test_default_rules_are_shipped_with_legal_basis() -> None:
    shipped = {r.code: r for r in ComplianceRule.objects.all()}
    assert set(shipped) == set(compliance.CHECKS)
    assert all(r.legal_basis and r.title and r.title_en for r in shipped.values())
    assert shipped["permit_required"].level == "major"
    assert shipped["permit_expiring"].level == "general"


def test_compliant_unit_has_no_findings(world: World) -> None:
    assert rules(compliant(world.unit_a)) == set()


def test_missing_and_expired_permit(world: World) -> None:
    assert "permit_required" in rules(world.unit_a)
    PermitFactory.create(
        enterprise=world.unit_a, kind="sale", expires_on=timezone.localdate() - timedelta(days=1)
    )
    assert "permit_required" in rules(world.unit_a)


def test_expiring_permit(world: World) -> None:
    compliant(world.unit_a)
    PermitFactory.create(
        enterprise=world.unit_a,
        kind="purchase",
        expires_on=timezone.localdate() + timedelta(days=10),
    )
    assert rules(world.unit_a) == {"permit_expiring"}


def test_manager_uncertified_after_six_months(world: World) -> None:
    compliant(world.unit_a)
    today = timezone.localdate()
    PersonFactory.create(
        enterprise=world.unit_a, post="principal", appointed_on=today - timedelta(days=100)
    )
    assert "manager_uncertified" not in rules(world.unit_a)  # still within six months
    late = PersonFactory.create(
        enterprise=world.unit_a, post="safety_manager", appointed_on=today - timedelta(days=200)
    )
    assert "manager_uncertified" in rules(world.unit_a)
    CertificateFactory.create(person=late, kind="safety_management")
    assert "manager_uncertified" not in rules(world.unit_a)


@pytest.mark.parametrize("post", ["blaster", "custodian", "escort"])
def test_special_posts_need_their_certificate(world: World, post: str) -> None:
    compliant(world.unit_a)
    person = PersonFactory.create(enterprise=world.unit_a, post=post)
    CertificateFactory.create(person=person, kind="driver")  # the wrong kind does not count
    assert "special_post_uncertified" in rules(world.unit_a)
    CertificateFactory.create(person=person, kind=post)
    assert "special_post_uncertified" not in rules(world.unit_a)


def test_no_safety_officer(world: World) -> None:
    PermitFactory.create(enterprise=world.unit_a, kind="sale")
    assert "no_safety_officer" in rules(world.unit_a)


def test_disabled_rule_does_not_run(world: World) -> None:
    ComplianceRule.objects.filter(code="no_safety_officer").update(enabled=False)
    assert "no_safety_officer" not in rules(world.unit_a)


def test_revoked_units_are_not_evaluated(world: World) -> None:
    world.unit_a.status = Enterprise.Status.REVOKED
    world.unit_a.save()
    assert rules(world.unit_a) == set()


def test_thresholds_are_data(world: World) -> None:
    compliant(world.unit_a)
    PersonFactory.create(
        enterprise=world.unit_a,
        post="principal",
        appointed_on=timezone.localdate() - timedelta(days=100),
    )
    rule = ComplianceRule.objects.get(code="manager_uncertified")
    rule.params = {**rule.params, "months": 3}
    rule.save()
    assert "manager_uncertified" in rules(world.unit_a)


def test_api_names_rule_and_basis(world: World, api: Any) -> None:
    url = reverse("api:enterprise-compliance", args=[world.unit_a.pk])
    body = api(world.county_a).get(url).json()
    assert body["major"] >= 1
    finding = body["findings"][0]
    assert finding["rule"] and finding["legal_basis"] and finding["title"]
    assert api(world.county_b).get(url).status_code == 404
    assert api(world.unit_a_employee).get(url).status_code == 200
    assert api(world.unit_b_officer).get(url).status_code == 404


def test_scan_notifies_new_findings_once(
    world: World, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    world.unit_a_officer.email = "officer@example.org"
    world.unit_a_officer.save()
    with django_capture_on_commit_callbacks(execute=True):
        first = compliance.scan(Enterprise.objects.filter(pk=world.unit_a.pk))
    assert first.new >= 1
    recipients = set(Notification.objects.values_list("recipient__username", flat=True))
    assert recipients == {"unit_a_principal", "unit_a_officer", "county_a", "county_a2"}
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["officer@example.org"]

    again = compliance.scan(Enterprise.objects.filter(pk=world.unit_a.pk))
    assert again.new == 0 and again.notified == 0

    compliant(world.unit_a)
    fixed = compliance.scan(Enterprise.objects.filter(pk=world.unit_a.pk))
    assert fixed.resolved == first.new and fixed.new == 0


def test_scan_query_count_is_constant(world: World, django_assert_max_num_queries: Any) -> None:
    for _ in range(30):
        unit = PermitFactory.create().enterprise
        PersonFactory.create(enterprise=unit)
    compliance.scan()  # first scan creates the findings
    with django_assert_max_num_queries(12):
        compliance.scan()


def test_administrator_switches_rules_in_the_admin(client: Any, world: World) -> None:
    client.force_login(world.admin)
    rule = ComplianceRule.objects.get(code="no_safety_officer")
    response = client.get(f"/admin/registry/compliancerule/{rule.pk}/change/")
    assert response.status_code == 200
    assert client.get("/admin/registry/compliancerule/add/").status_code == 403
