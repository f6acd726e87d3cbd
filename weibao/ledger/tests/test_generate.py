"""The synthetic history generator: deterministic for a seed, every anomaly kind injected and
listed, ingestible whole, and — reconciled — exactly its ground truth, nothing more."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from weibao.ledger.generate import GenerateResult, load_counts, run
from weibao.ledger.ingest import COLUMNS, ingest_file
from weibao.ledger.models import Anomaly, BlastingProject, Event, MagazineCount, PermitAllowance
from weibao.registry.models import Certificate, Enterprise, Permit, Person, Site

pytestmark = pytest.mark.django_db

ITEMS = 600
SEED = 7


def generate(out: Path, **options: Any) -> GenerateResult:
    return run(items=ITEMS, seed=SEED, out=out, days=16, **options)


def registry_rows() -> dict[str, int]:
    models = (Enterprise, Site, Permit, Person, Certificate, BlastingProject, PermitAllowance)
    return {m.__name__: m.objects.count() for m in models}


def rows_of(result: GenerateResult) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in result.event_files:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            rows += pq.read_table(path).to_pylist()
        else:
            with path.open(encoding="utf-8", newline="") as handle:
                rows += list(csv.DictReader(handle))
    return rows


def truth(result: GenerateResult) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(result.ground_truth_file.read_text(encoding="utf-8"))
    return data


def ingest_all(result: GenerateResult) -> list[Any]:
    return [batch for path in result.event_files for batch in ingest_file(str(path))]


def test_a_seed_gives_the_same_history_and_registry(tmp_path: Path) -> None:
    first = generate(tmp_path / "a")
    rows = registry_rows()
    second = generate(tmp_path / "b")
    assert registry_rows() == rows  # the world is found again, not created twice
    for a, b in zip(first.event_files, second.event_files, strict=True):
        assert a.read_bytes() == b.read_bytes()
    assert first.counts_file.read_bytes() == second.counts_file.read_bytes()
    assert truth(first) == truth(second)
    other = run(items=ITEMS, seed=SEED + 1, out=tmp_path / "c", days=16)
    assert truth(other)["keys"] != truth(first)["keys"]


def test_every_kind_is_injected_and_listed_by_its_key(tmp_path: Path) -> None:
    result = generate(tmp_path, anomalies_per_kind=2)
    data = truth(result)
    kinds = {a["kind"] for a in data["anomalies"]}
    assert kinds == set(Anomaly.Kind.values)
    assert data["keys"] == sorted(a["key"] for a in data["anomalies"])
    assert all(a["key"] == f"{a['kind']}:{a['subject']}" for a in data["anomalies"])
    assert {a["severity"] for a in data["anomalies"]} == {"low", "high", "critical"}
    rows = rows_of(result)
    assert len(rows) == result.events == data["events"]
    assert 4 <= result.events / result.items <= 6
    # In time order, and everything (filings too) before the as-of time.
    times = [datetime.fromisoformat(r["at"]) for r in rows]
    assert times == sorted(times)
    as_of = datetime.fromisoformat(data["as_of"])
    assert max(times + [datetime.fromisoformat(r["recorded_at"]) for r in rows]) < as_of
    assert {r["event"] for r in rows} >= {"produced", "packed", "shipped", "received", "issued"}
    by_kind = {a["kind"]: a for a in data["anomalies"]}
    shipped = {r["code"] for r in rows if r["event"] == "shipped"}
    received = {r["code"] for r in rows if r["event"] == "received"}
    assert by_kind["not_received"]["subject"] in shipped - received
    reused = by_kind["code_reused"]["subject"]
    assert sum(1 for r in rows if r["code"] == reused and r["event"] == "produced") == 2


def test_the_history_ingests_without_a_rejected_batch(tmp_path: Path) -> None:
    result = generate(tmp_path, part_rows=1000)
    assert len(result.event_files) > 1
    batches = ingest_all(result)
    assert [b.errors[:3] for b in batches if not b.accepted] == []
    assert Event.objects.count() == result.events
    assert load_counts(result.counts_file) == result.counts
    assert load_counts(result.counts_file) == 0
    assert MagazineCount.objects.count() == result.counts


def test_parquet_parts_hold_the_same_rows(tmp_path: Path) -> None:
    as_csv = generate(tmp_path / "csv")
    as_parquet = generate(tmp_path / "parquet", fmt="parquet")
    assert [p.suffix for p in as_parquet.event_files] == [".parquet"]
    rows = rows_of(as_parquet)
    assert list(rows[0]) == list(COLUMNS)
    assert rows == rows_of(as_csv)
    assert all(b.accepted for b in ingest_all(as_parquet))


def test_reconciliation_finds_the_ground_truth_and_nothing_else(
    tmp_path: Path, settings: Any
) -> None:
    reconcile = pytest.importorskip("weibao.ledger.reconcile")
    settings.LEDGER_EXPORT_DIR = tmp_path / "export"
    result = generate(tmp_path / "history", anomalies_per_kind=2)
    assert all(b.accepted for b in ingest_all(result))
    load_counts(result.counts_file)
    outcome = reconcile.run(as_of=result.as_of)
    expected = truth(result)
    found = {f.key for f in outcome.findings}
    assert found == set(expected["keys"])  # precision = recall = 1
    severities = dict(Anomaly.objects.values_list("key", "severity"))
    assert severities == {a["key"]: a["severity"] for a in expected["anomalies"]}
    # Later is no different: the overdue shipments are already overdue.
    later = reconcile.run(as_of=timezone.now(), store=False)
    assert {f.key for f in later.findings} == found


def test_too_small_a_history_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least"):
        run(items=10, seed=SEED, out=tmp_path / "tiny")
    assert not (tmp_path / "tiny").exists()
    assert Enterprise.objects.count() == 0
