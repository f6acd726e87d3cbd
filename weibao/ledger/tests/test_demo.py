"""The ledger demo: three weeks at the demo's explosives units, ingested through the real
ingest, one anomaly of each kind once reconciled; a second load adds nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from weibao.core.context import acting_as
from weibao.ledger.demo import CONTRACTORS, DAYS, PRODUCER, load_ledger_demo
from weibao.ledger.models import (
    Anomaly,
    Batch,
    BlastingProject,
    Event,
    Item,
    ItemState,
    MagazineCount,
    PermitAllowance,
)
from weibao.registry.demo import demo_uscc, load_registry_demo
from weibao.registry.models import Permit, Site

pytestmark = pytest.mark.django_db


def rows() -> dict[str, int]:
    models = (Event, Item, Batch, MagazineCount, Anomaly, Permit, PermitAllowance, Site)
    return {m.__name__: m.objects.count() for m in (*models, BlastingProject)}


def test_without_the_registry_demo_there_is_nothing_to_load() -> None:
    assert load_ledger_demo() == {"ledger events": 0, "declared counts": 0, "ledger anomalies": 0}
    assert Event.objects.count() == 0


@pytest.mark.slow
def test_demo_and_a_second_load_adds_nothing(settings: Any, tmp_path: Path) -> None:
    settings.LEDGER_EXPORT_DIR = tmp_path / "export"
    with acting_as(label="test"):
        load_registry_demo()
    created = load_ledger_demo()
    assert created["ledger events"] == Event.objects.count() > 1000
    assert created["declared counts"] == MagazineCount.objects.count() > 0
    assert Batch.objects.filter(status=Batch.Status.REJECTED).count() == 0

    # The history is the three weeks before the demo's first day, at the demo units.
    yesterday = timezone.localdate() - timedelta(days=1)
    days = {timezone.localdate(at) for at in Event.objects.values_list("at", flat=True)}
    assert max(days) <= yesterday and (yesterday - min(days)).days < DAYS
    units = set(Event.objects.values_list("enterprise__uscc", flat=True))
    assert demo_uscc(PRODUCER) in units
    assert {demo_uscc(key) for key in CONTRACTORS} <= units
    states = set(Item.objects.values_list("state", flat=True))
    assert {ItemState.IN_STORE, ItemState.FIRED, ItemState.LOST} <= states

    if created["ledger anomalies"]:  # reconciliation is installed
        kinds = sorted(Anomaly.objects.values_list("kind", flat=True))
        assert kinds == sorted(Anomaly.Kind.values)

    before = rows()
    assert load_ledger_demo() == {"ledger events": 0, "declared counts": 0, "ledger anomalies": 0}
    assert rows() == before
