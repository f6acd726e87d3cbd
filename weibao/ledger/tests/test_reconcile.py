"""Reconciliation on DuckDB over a small ledger holding one anomaly of every kind among clean
flows (the same history runs on Spark in test_spark.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from django.utils import timezone

from weibao.core.models import Notification
from weibao.ledger import export, reconcile
from weibao.ledger.books import site_book
from weibao.ledger.ingest import ingest_rows
from weibao.ledger.models import Anomaly, Event, MagazineCount, PermitAllowance
from weibao.ledger.reconcile.checks import day
from weibao.registry.models import Permit, Site
from weibao.tests.factories import (
    COUNTY_B,
    LedgerWorld,
    PermitFactory,
    SiteFactory,
    World,
    ledger_world,
    shell_code,
)

pytestmark = pytest.mark.django_db

NONEL = "nonel_detonator"


@dataclass
class History:
    lw: LedgerWorld
    small_magazine: Site  # holds 5 detonators by design
    second_permit: Permit  # allows 5 detonators
    first_day: date
    rows: list[dict[str, Any]]
    expected: set[str]


def build_history(world: World) -> History:
    """Ten local days ending yesterday: production, sales, storage, closed loops, and one
    instance of every anomaly kind. Ingested whole through `ingest_rows`."""
    lw = ledger_world(world)
    seller = lw.seller
    seller.jurisdiction_id = COUNTY_B  # the undelivered shipment's owner is in county B
    seller.save()
    magazine = lw.contractor_magazine
    small = SiteFactory.create(
        enterprise=lw.contractor, name="小库", capacity_kg=None, capacity_detonators=5
    )
    second = PermitFactory.create(enterprise=lw.contractor, kind=Permit.Kind.PURCHASE)
    PermitAllowance.objects.create(permit=lw.purchase_permit, product=NONEL, quantity=100)
    PermitAllowance.objects.create(permit=second, product=NONEL, quantity=5)
    first = timezone.localdate() - timedelta(days=10)

    def at(days: int, hour: float) -> str:
        moment = datetime.combine(first + timedelta(days=days), time()) + timedelta(hours=hour)
        return timezone.make_aware(moment).isoformat()

    P, S, C = lw.producer.uscc, seller.uscc, lw.contractor.uscc
    blaster = lw.blaster.identity_number
    rows: list[dict[str, Any]] = []

    def add(code: str, event: str, when: str, unit: str, **more: Any) -> None:
        rows.append({"code": code, "event": event, "at": when, "unit": unit, **more})

    def ship(
        code: str, when: tuple[int, float], unit: str, buyer: str, permit: str, filed: str = ""
    ) -> None:
        # Filed an hour after the sale unless said otherwise (the default is the ingest time).
        add(
            code,
            "shipped",
            at(*when),
            unit,
            counterpart=buyer,
            purchase_permit=permit,
            transport_permit=lw.transport_permit.number,
            recorded_at=filed or at(when[0], when[1] + 1),
        )

    def produce(serials: range, box: str, when: int, **more: Any) -> None:
        for n in serials:
            add(shell_code(n), "produced", at(when, 8), P, product=NONEL, **more)
            add(shell_code(n), "packed", at(when, 9), P, container=box)

    # Day 0-1: 40 detonators in two boxes, producer → seller, received and stored.
    produce(range(1, 21), "BOX-A00001", 0)
    produce(range(21, 41), "BOX-B00001", 0)
    # Code used twice: the same shell code produced again the next day (into the producer's
    # magazine: only the first production is stock in its books).
    factory = str(lw.producer_magazine.pk)
    add(shell_code(41), "produced", at(0, 8), P, product=NONEL, site=factory)
    add(shell_code(41), "produced", at(1, 8), P, product=NONEL, site=factory)
    for box in ("BOX-A00001", "BOX-B00001"):
        ship(box, (0, 10), P, S, lw.sale_permit.number)
        add(box, "received", at(1, 9), S)
        add(box, "stored_in", at(1, 10), S, site=str(lw.seller_magazine.pk))
    # Day 1: ten detonators straight to the contractor under the second permit (allows 5:
    # over permit), filed 4 days late, stored in the small magazine (capacity 5: over it).
    produce(range(50, 60), "BOX-C00001", 1)
    ship("BOX-C00001", (1, 10), P, C, second.number, filed=at(5, 10))
    add("BOX-C00001", "received", at(1, 15), C)
    add("BOX-C00001", "stored_in", at(1, 16), C, site=str(small.pk))
    # Day 2: box A sold on to the contractor, received in time, stored.
    ship("BOX-A00001", (2, 9), S, C, lw.purchase_permit.number)
    add("BOX-A00001", "received", at(2, 14), C)
    add("BOX-A00001", "stored_in", at(2, 15), C, site=str(magazine.pk))
    # Day 3: box A issued whole; 15 fired one by one, 5 returned one by one: loop closed.
    issue = {"person": blaster, "project": lw.project.code}
    add("BOX-A00001", "issued", at(3, 9), C, **issue)
    for n in range(1, 16):
        add(shell_code(n), "fired", at(3, 14), C, person=blaster)
    for n in range(16, 21):
        add(shell_code(n), "returned", at(3, 17), C, site=str(magazine.pk))
    # Day 4: two issued, one fired, one returned: closed. Box B shipped and never received.
    add(shell_code(16), "issued", at(4, 9), C, **issue)
    add(shell_code(17), "issued", at(4, 9), C, **issue)
    add(shell_code(16), "fired", at(4, 11), C, person=blaster)
    add(shell_code(17), "returned", at(4, 12), C, site=str(magazine.pk))
    ship("BOX-B00001", (4, 10), S, C, lw.purchase_permit.number)
    # Day 5: one issued and kept overnight (returned next morning): loop not closed. Thirty
    # more arrive in box D.
    add(shell_code(18), "issued", at(5, 9), C, **issue)
    produce(range(60, 90), "BOX-D00001", 5, site=factory)  # leaves the factory magazine
    ship("BOX-D00001", (5, 10), P, C, lw.purchase_permit.number)
    add("BOX-D00001", "received", at(5, 15), C)
    add("BOX-D00001", "stored_in", at(5, 16), C, site=str(magazine.pk))
    # Day 6: 18 back; a detonator from outside the platform arrives (never produced here);
    # 19 issued at 23:30 and returned at 00:30: the next local day, so not closed either.
    add(shell_code(18), "returned", at(6, 8), C, site=str(magazine.pk))
    outsider = shell_code(1, enterprise="61")
    add(outsider, "received", at(6, 9), C, product=NONEL)
    add(outsider, "stored_in", at(6, 10), C, site=str(magazine.pk))
    add(shell_code(19), "issued", at(6, 23.5), C, **issue)
    add(shell_code(19), "returned", at(7, 0.5), C, site=str(magazine.pk))
    # Day 7: box D (30 detonators) lost: critical. 20 lost too, found on day 8.
    add("BOX-D00001", "lost", at(7, 11), C)
    add(shell_code(20), "lost", at(7, 12), C)
    add(shell_code(20), "found", at(8, 9), C, site=str(magazine.pk))
    # Day 8: issued at 00:30 and fired at 23:00 local (two UTC days, one local day): closed.
    add(shell_code(17), "issued", at(8, 0.5), C, **issue)
    add(shell_code(17), "fired", at(8, 23), C, person=blaster)

    # Declared counts of the contractor's magazine. Books (nonel): day 2: 20, 3: 5, 4: 4,
    # 5: 33, 6: 34, 7: 4, 8: 4, 9: 4 (no events: carried over).
    for days, quantity in ((3, 5), (5, 32), (9, 4)):
        MagazineCount.objects.create(
            site=magazine, day=first + timedelta(days=days), product=NONEL, quantity=quantity
        )
    # The producer's magazine (41 produced twice, box D produced into it and shipped): 1.
    for where, days, quantity in ((small, 1, 10), (lw.producer_magazine, 1, 1)):
        MagazineCount.objects.create(
            site=where, day=first + timedelta(days=days), product=NONEL, quantity=quantity
        )
    MagazineCount.objects.create(
        site=lw.producer_magazine, day=first + timedelta(days=5), product=NONEL, quantity=1
    )
    mismatch_day = (first + timedelta(days=5)).isoformat()
    expected = {
        "not_received:BOX-B00001",
        f"not_closed:{shell_code(18)}",
        f"not_closed:{shell_code(19)}",
        f"code_reused:{shell_code(41)}",
        f"never_produced:{outsider}",
        f"over_capacity:{small.pk}",
        f"count_mismatch:{magazine.pk}:{mismatch_day}:{NONEL}",
        f"over_permit:{second.number}",
        "late_filing:BOX-C00001",
        "lost:BOX-D00001",
    }
    return History(lw, small, second, first, rows, expected)


def ingest_history(world: World) -> History:
    history = build_history(world)
    result = ingest_rows(history.rows)
    assert result.accepted, result.errors[:5]
    return history


@pytest.fixture
def history(world: World) -> History:
    return ingest_history(world)


def test_finds_every_kind_and_nothing_else(history: History, tmp_path: Path) -> None:
    result = reconcile.run(export_dir=tmp_path)
    assert {f.key for f in result.findings} == history.expected
    assert set(result.counts) == set(Anomaly.Kind.values)
    assert all(n >= 1 for n in result.counts.values())
    assert result.engine == "duckdb" and result.seconds["total"] > 0
    anomalies = {a.key: a for a in Anomaly.objects.all()}
    assert set(anomalies) == history.expected
    lw = history.lw
    lost = anomalies["lost:BOX-D00001"]
    assert (lost.severity, lost.status, lost.quantity) == ("critical", "open", 30)
    assert lost.enterprise_id == lw.contractor.pk and lost.site_id == lw.contractor_magazine.pk
    assert lost.evidence["lost_quantity"] == "30.000" and "lost_at" in lost.evidence
    undelivered = anomalies["not_received:BOX-B00001"]
    assert (undelivered.severity, undelivered.enterprise_id) == ("high", lw.seller.pk)
    assert undelivered.evidence["buyer_id"] == lw.contractor.pk
    assert undelivered.evidence["received_at"] is None
    overnight = anomalies[f"not_closed:{shell_code(18)}"]
    assert overnight.quantity == 1 and overnight.severity == "high"
    assert overnight.evidence["issued_day"] == (history.first_day + timedelta(days=5)).isoformat()
    mismatch = next(a for a in anomalies.values() if a.kind == "count_mismatch")
    assert (mismatch.evidence["declared"], mismatch.evidence["books"]) == ("32.000", "33.000")
    assert mismatch.severity == "low" and mismatch.quantity == 1
    # The same books as the magazine's book page: 33 on hand (32 declared), and 1 (1).
    for site, days, on_hand in ((lw.contractor_magazine, 5, 33), (lw.producer_magazine, 1, 1)):
        when = history.first_day + timedelta(days=days)
        book = site_book(site=site, start=when, end=when)
        line = next(x for x in book.lines if x.day == when and x.product == NONEL)
        assert line.on_hand == on_hand
    over_permit = anomalies[f"over_permit:{history.second_permit.number}"]
    assert over_permit.quantity == 5 and over_permit.enterprise_id == lw.contractor.pk
    capacity = anomalies[f"over_capacity:{history.small_magazine.pk}"]
    assert capacity.quantity == 5 and capacity.evidence["measure"] == "piece"
    late = anomalies["late_filing:BOX-C00001"]
    assert late.severity == "low" and late.evidence["delay_seconds"] == 4 * 86400


def test_rerun_keeps_status_and_adds_nothing(history: History, tmp_path: Path) -> None:
    first = reconcile.run(export_dir=tmp_path)
    assert first.store is not None and first.store.created == len(history.expected)
    explained = Anomaly.objects.get(key="late_filing:BOX-C00001")
    Anomaly.objects.filter(pk=explained.pk).update(
        status=Anomaly.Status.EXPLAINED, explanation="系统故障，补录"
    )
    notes = Notification.objects.count()
    again = reconcile.run(export_dir=tmp_path)
    assert again.store is not None
    assert (again.store.created, again.store.updated) == (0, len(history.expected))
    assert again.export is not None and again.export.events == 0
    assert Anomaly.objects.count() == len(history.expected)
    explained.refresh_from_db()
    assert explained.status == "explained" and explained.explanation == "系统故障，补录"
    assert explained.last_seen_at > explained.detected_at
    assert Notification.objects.count() == notes  # no second alarm


def test_critical_loss_alarms_county_a_only(history: History, world: World, tmp_path: Path) -> None:
    result = reconcile.run(export_dir=tmp_path)
    assert result.store is not None and result.store.alarms == 1
    notes = list(Notification.objects.filter(verb__startswith="ledger."))
    assert {n.recipient_id for n in notes} == {world.county_a.pk, world.county_a2.pk}
    assert {n.verb for n in notes} == {"ledger.lost"}
    anomaly = Anomaly.objects.get(key="lost:BOX-D00001")
    note = notes[0]
    assert note.params["code"] == "BOX-D00001" and note.params["quantity"] == "30"
    assert note.url == f"/ledger/anomalies/{anomaly.pk}/"


def test_export_is_incremental(history: History, tmp_path: Path) -> None:
    first = export.ledger_export(export_dir=tmp_path)
    assert first.events == len(history.rows) and len(first.parts) == 1
    assert first.snapshots["counts"] == 6
    again = export.ledger_export(export_dir=tmp_path)
    assert again.events == 0 and again.parts == []
    lw = history.lw
    when = timezone.now() - timedelta(hours=2)
    more = [
        {
            "code": shell_code(20),
            "event": "issued",
            "at": when.isoformat(),
            "unit": lw.contractor.uscc,
            "person": lw.blaster.identity_number,
            "project": lw.project.code,
        },
        {
            "code": shell_code(20),
            "event": "returned",
            "at": (when + timedelta(minutes=30)).isoformat(),
            "unit": lw.contractor.uscc,
            "site": str(lw.contractor_magazine.pk),
        },
    ]
    assert ingest_rows(more).accepted
    third = export.ledger_export(export_dir=tmp_path)
    assert third.events == 2 and len(third.parts) == 1
    parts = export.event_parts(tmp_path)
    assert len(parts) == 2
    assert (
        third.parts[0].name
        == f"part-{third.last_event_id - 1:012d}-{third.last_event_id:012d}.parquet"
    )
    table = pq.read_table(parts[-1])
    assert table.column("kind").to_pylist() == ["issued", "returned"]
    assert table.column("at").to_pylist()[0] == int(when.timestamp())
    # A part the watermark does not list (a run that died) is dropped and redone.
    (tmp_path / "events" / "part-999999999998-999999999999.parquet").write_bytes(b"")
    assert export.ledger_export(export_dir=tmp_path).events == 0
    assert len(export.event_parts(tmp_path)) == 2


def test_export_picks_up_events_committed_late(history: History, tmp_path: Path) -> None:
    # On PostgreSQL an id can commit after higher ones: seen as a gap, looked up next time.
    late = Event.objects.order_by("-id")[3]
    values = {f.attname: getattr(late, f.attname) for f in Event._meta.concrete_fields}
    late_id = late.pk
    late.delete()
    first = export.ledger_export(export_dir=tmp_path)
    assert first.events == len(history.rows) - 1
    state = json.loads((tmp_path / export.WATERMARK).read_text())
    assert [gap[:2] for gap in state["gaps"]] == [[late_id, late_id]]
    Event.objects.create(**values)
    again = export.ledger_export(export_dir=tmp_path)
    assert (again.events, again.late_events) == (1, 1)
    assert json.loads((tmp_path / export.WATERMARK).read_text())["gaps"] == []
    ids = [
        i for part in export.event_parts(tmp_path) for i in pq.read_table(part)["id"].to_pylist()
    ]
    assert sorted(ids) == list(Event.objects.order_by("id").values_list("id", flat=True))


def test_export_starts_over_for_another_database(history: History, tmp_path: Path) -> None:
    export.ledger_export(export_dir=tmp_path)
    state = (tmp_path / export.WATERMARK).read_text().replace('"last_code": "', '"last_code": "X')
    (tmp_path / export.WATERMARK).write_text(state)
    redone = export.ledger_export(export_dir=tmp_path)
    assert redone.rebuilt and redone.events == len(history.rows)
    assert len(export.event_parts(tmp_path)) == 1


def test_as_of_decides_what_is_overdue(history: History, tmp_path: Path) -> None:
    export.ledger_export(export_dir=tmp_path)
    # Two days after box B left, it is not overdue yet; day 5's open loop is not over yet.
    early = timezone.make_aware(
        datetime.combine(history.first_day + timedelta(days=5), time(12, 0))
    )
    keys = {f.key for f in reconcile.find(export_dir=tmp_path, as_of=early)}
    assert "not_received:BOX-B00001" not in keys
    assert f"not_closed:{shell_code(18)}" not in keys
    assert {"lost:BOX-D00001", "late_filing:BOX-C00001"} <= keys


def test_local_day_expression() -> None:
    import duckdb

    # 2026-03-14 23:59:59 and 2026-03-15 00:00:00 in Asia/Shanghai.
    before = int(timezone.make_aware(datetime(2026, 3, 14, 23, 59, 59)).timestamp())
    rows = (
        duckdb.connect()
        .execute(f"SELECT {day(str(before))}, {day(str(before + 1))}, {day('CAST(-1 AS BIGINT)')}")
        .fetchall()
    )
    epoch = date(1970, 1, 1)
    assert rows == [((date(2026, 3, 14) - epoch).days, (date(2026, 3, 15) - epoch).days, 0)]


def test_unknown_engine_and_check(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        reconcile.find(engine="oracle", export_dir=tmp_path)
    with pytest.raises(ValueError):
        reconcile.find(kinds=["nope"], export_dir=tmp_path)


def test_an_empty_ledger_finds_nothing(db: None, tmp_path: Path) -> None:
    result = reconcile.run(export_dir=tmp_path)
    assert result.findings == [] and sum(result.counts.values()) == 0
    assert Decimal(0) == sum((a.quantity for a in Anomaly.objects.all()), Decimal(0))


def test_nightly_task_is_registered_and_reports(
    history: History, tmp_path: Path, settings: Any
) -> None:
    from weibao.core import scheduling
    from weibao.ledger.tasks import ledger_reconcile

    settings.LEDGER_EXPORT_DIR = tmp_path
    job = scheduling.jobs()["ledger.reconcile"]
    assert job.task is ledger_reconcile and (job.at.hour, job.at.minute) == (2, 0)
    summary = ledger_reconcile.enqueue().return_value
    assert summary["engine"] == "duckdb" and summary["created"] == len(history.expected)
    assert summary["counts"]["lost"] == 1 and summary["exported_events"] == len(history.rows)


def _engines_spied(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[dict[str, Any]]]:
    """Both engines' entry points, recording their calls. Spark's runs DuckDB's checks (the two
    give the same findings, test_spark.py), so the task around it runs for real: export, store."""
    from weibao.ledger.reconcile import duckdb_engine, spark_engine

    calls: dict[str, list[dict[str, Any]]] = {"duckdb": [], "spark": []}
    duckdb_find = duckdb_engine.find

    def on_duckdb(root: Path, params: Any, **kwargs: Any) -> Any:
        calls["duckdb"].append(kwargs)
        return duckdb_find(root, params, **kwargs)

    def on_spark(root: Path, params: Any, *, master: str | None = None, **kwargs: Any) -> Any:
        calls["spark"].append({"master": master, **kwargs})
        return duckdb_find(root, params, **kwargs)

    monkeypatch.setattr(duckdb_engine, "find", on_duckdb)
    monkeypatch.setattr(spark_engine, "find", on_spark)
    return calls


def test_nightly_task_runs_on_the_configured_engine(
    history: History, tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from weibao.ledger.reconcile import spark_engine
    from weibao.ledger.tasks import ledger_reconcile

    settings.LEDGER_EXPORT_DIR = tmp_path
    calls = _engines_spied(monkeypatch)
    assert ledger_reconcile.enqueue().return_value["engine"] == "duckdb"  # the default
    assert len(calls["duckdb"]) == 1 and calls["spark"] == []

    settings.LEDGER_RECONCILE_ENGINE = "spark"
    settings.LEDGER_SPARK_MASTER = "spark://spark.example.gov.cn:7077"
    monkeypatch.setattr(spark_engine, "available", lambda: True)
    summary = ledger_reconcile.enqueue().return_value
    assert summary["engine"] == "spark"
    assert calls["spark"] == [{"master": "spark://spark.example.gov.cn:7077", "kinds": None}]
    assert len(calls["duckdb"]) == 1  # not run again
    assert summary["updated"] == len(history.expected) and summary["created"] == 0


def test_nightly_task_on_spark_without_pyspark_fails_loudly(
    history: History,
    tmp_path: Path,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import sys

    from django_tasks import TaskResultStatus

    from weibao.ledger.tasks import ledger_reconcile

    settings.LEDGER_EXPORT_DIR = tmp_path
    settings.LEDGER_RECONCILE_ENGINE = "spark"
    calls = _engines_spied(monkeypatch)
    monkeypatch.setitem(sys.modules, "pyspark", None)  # `import pyspark` raises ImportError
    with caplog.at_level("ERROR", logger="weibao.ledger.tasks"):
        result = ledger_reconcile.enqueue()
    assert result.status == TaskResultStatus.FAILED
    assert result.errors[0].exception_class_path == "weibao.ledger.reconcile.EngineUnavailable"
    assert "pyspark is not installed" in result.errors[0].traceback
    logged = [r.getMessage() for r in caplog.records if r.name == "weibao.ledger.tasks"]
    assert len(logged) == 1 and "LEDGER_RECONCILE_ENGINE=spark" in logged[0]
    assert "pyspark is not installed" in logged[0]
    # no DuckDB instead, and nothing started: no export, no anomaly
    assert calls == {"duckdb": [], "spark": []}
    assert not any(tmp_path.iterdir()) and not Anomaly.objects.exists()
    with pytest.raises(reconcile.EngineUnavailable):
        ledger_reconcile.call()
