from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from stdnum.cn import ric, uscc

from weibao.accounts.demo import DEMO_PASSWORD, PERSONAS, load_demo
from weibao.accounts.models import Role, User
from weibao.core.models import AuditEntry
from weibao.registry import compliance
from weibao.registry import demo as registry_demo
from weibao.registry.models import (
    Certificate,
    ComplianceRule,
    Enterprise,
    ExpiryState,
    Permit,
    Person,
    Site,
)

pytestmark = pytest.mark.django_db

MODELS = (Enterprise, Permit, Site, Person, Certificate, AuditEntry, User)


def counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in MODELS}


def test_loading_twice_changes_nothing_even_on_a_later_day(monkeypatch: Any) -> None:
    load_demo()
    before = counts()
    history = list(AuditEntry.objects.values_list("seq", "hash"))
    assert not any(load_demo().values())
    # A year later: dates and numbers are still computed from the day of the first load.
    later = timezone.localdate() + timedelta(days=365)
    monkeypatch.setattr(registry_demo, "_today", lambda: later)
    assert registry_demo.load_registry_demo() == dict.fromkeys(
        ("units", "permits", "sites", "people", "certificates"), 0
    )
    assert counts() == before
    assert list(AuditEntry.objects.values_list("seq", "hash")) == history


def test_demo_content_is_valid_and_varied() -> None:
    created = registry_demo.load_registry_demo()
    assert created["units"] == Enterprise.objects.count() >= 40
    assert created["certificates"] == Certificate.objects.count()

    units = list(Enterprise.objects.all())
    assert all(uscc.is_valid(u.uscc) for u in units)
    assert all(ric.is_valid(n) for n in Person.objects.values_list("identity_number", flat=True))
    assert len({u.jurisdiction_id for u in units}) >= 10
    kinds = Counter(k for u in units for k in u.kind_list)
    assert set(kinds) == set(Enterprise.Kind.values)
    assert kinds["fireworks_retail"] >= 10

    permit_states = Counter(p.state for p in Permit.objects.all())
    cert_states = Counter(c.state for c in Certificate.objects.all())
    for states in (permit_states, cert_states):
        assert set(states) == set(ExpiryState.values)
        assert states[ExpiryState.VALID] > states[ExpiryState.EXPIRING]
        assert states[ExpiryState.VALID] > states[ExpiryState.EXPIRED]
    assert Site.objects.filter(kind=Site.Kind.MAGAZINE, capacity_kg__gt=0).exists()
    assert Site.objects.filter(kind=Site.Kind.BLASTING_SITE).exists()
    # Every history entry was written by the models (audit trail), one per row created.
    assert AuditEntry.objects.count() == sum(created.values())


def test_every_compliance_rule_fires_somewhere_and_most_units_are_in_order() -> None:
    registry_demo.load_registry_demo()
    rules = compliance.enabled_rules()
    assert {r.code for r in rules} == set(ComplianceRule.objects.values_list("code", flat=True))
    fired: Counter[str] = Counter()
    clean = 0
    for unit in compliance.with_registry(Enterprise.objects.all()):
        found = {f.rule for f in compliance.evaluate(unit, rules)}
        fired.update(found)
        clean += not found
    assert set(fired) == set(compliance.CHECKS)
    assert clean >= Enterprise.objects.count() // 2


def test_unit_logins_belong_to_their_units(client: Any) -> None:
    load_demo()
    unit_personas = [p for p in PERSONAS if p.unit]
    assert {p.role for p in unit_personas} == {
        Role.UNIT_PRINCIPAL,
        Role.UNIT_SAFETY_OFFICER,
        Role.EMPLOYEE,
    }
    assert len({p.unit for p in unit_personas}) >= 2
    for persona in unit_personas:
        assert persona.unit is not None
        assert client.login(username=persona.username, password=DEMO_PASSWORD), persona
        user = User.objects.get(username=persona.username)
        assert user.enterprise is not None
        assert user.agency_id is None
        assert user.enterprise.uscc == registry_demo.demo_uscc(persona.unit)
        assert user.is_unit_user
        user.full_clean()
    plant = Enterprise.objects.get(uscc=registry_demo.demo_uscc(registry_demo.NANLING))
    assert plant.jurisdiction_id == "430422"
    assert set(plant.kind_list) == {"explosives_production", "explosives_storage"}
