"""Legal provisions: the shipped defaults, their checks, and verification."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from weibao.enforcement import services
from weibao.enforcement.models import LegalProvision, PenaltyKind
from weibao.enforcement.provisions import DATA, default_provisions, load_default_provisions
from weibao.tests.factories import World, provision

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english() -> Any:
    with translation.override("en"):
        yield


def test_defaults_ship_unverified_and_valid() -> None:
    shipped = json.loads(DATA.read_text(encoding="utf-8"))
    assert LegalProvision.objects.count() == len(shipped)
    assert not LegalProvision.objects.filter(verified=True).exists()
    for row in LegalProvision.objects.all():
        row.full_clean()
        assert row.title_en and row.violation_en and row.law_en
    codes = set(LegalProvision.objects.values_list("code", flat=True))
    # Work Safety Law: failing to remove hazards, refusal, no hazard system.
    assert {"wsl-2021-102", "wsl-2021-102-refusal", "wsl-2021-101-5"} <= codes
    # Civil Explosives Regulation penalty articles.
    assert sum(code.startswith("cer-") for code in codes) >= 4


def test_loading_again_never_overwrites_an_edit() -> None:
    LegalProvision.objects.filter(code="wsl-2021-102").update(title="已修改")
    assert load_default_provisions(LegalProvision) == 0
    assert provision().title == "已修改"
    LegalProvision.objects.filter(code="wsl-2021-102").delete()
    assert load_default_provisions(LegalProvision) == 1
    assert len(default_provisions()) == LegalProvision.objects.count()


def test_penalty_problem_names_the_range_and_the_kind() -> None:
    storage = provision("cer-49-storage")
    assert storage.penalty_problem("fine", Decimal(50000)) is None
    assert storage.penalty_problem("fine", Decimal(200000)) is None
    assert "maximum" in (storage.penalty_problem("fine", Decimal("200000.01")) or "")
    assert "minimum" in (storage.penalty_problem("fine", Decimal(49999)) or "")
    assert "does not allow" in (storage.penalty_problem("person_fine", Decimal(1)) or "")
    assert storage.penalty_problem("warning", None) is None
    assert "above zero" in (storage.penalty_problem("fine", None) or "")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"allowed_kinds": []}, "allowed_kinds"),
        ({"allowed_kinds": ["fine", "jail"]}, "allowed_kinds"),
        ({"allowed_kinds": ["fine", "fine"]}, "allowed_kinds"),
        ({"fine_max": None}, "fine_max"),
        ({"fine_min": Decimal(10), "fine_max": Decimal(5)}, "fine_max"),
        ({"allowed_kinds": ["warning"]}, "fine_max"),
        ({"fine_min": Decimal(-1)}, "fine_min"),
    ],
)
def test_provision_checks(changes: dict[str, object], field: str) -> None:
    row = provision("wsl-2021-102")
    for name, value in changes.items():
        setattr(row, name, value)
    with pytest.raises(ValidationError) as exc:
        row.full_clean()
    assert field in exc.value.message_dict


def test_only_an_administrator_edits_and_a_legal_change_unverifies(world: World) -> None:
    row = provision()
    with pytest.raises(PermissionDenied):
        services.provision_verify(actor=world.city, provision=row)
    with pytest.raises(PermissionDenied):
        services.provision_save(actor=world.county_a, provision=row, data={"title": "x"})
    row = services.provision_verify(actor=world.admin, provision=row)
    assert row.verified and row.verified_by == world.admin and row.verified_at
    row = services.provision_save(actor=world.admin, provision=row, data={"title_en": "Renamed"})
    assert row.verified  # a translation of the title is not legal content
    row = services.provision_save(
        actor=world.admin, provision=row, data={"fine_max": Decimal(60000)}
    )
    assert not row.verified and row.verified_by is None
    new = services.provision_save(
        actor=world.admin,
        data={
            "code": "local-1",
            "law": "某省安全生产条例",
            "article": "第三十条",
            "title": "地方条款",
            "violation": "……",
            "allowed_kinds": [PenaltyKind.WARNING],
        },
    )
    assert not new.verified
