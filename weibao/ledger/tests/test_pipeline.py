"""The file pipeline (ingest/pipeline.py): a file's batches are filed in order by a writer while
the next one is validated against what the batch in flight leaves. The ledger comes out exactly
as if the batches had been filed one after another, rejected ones included, whatever the batch
size; another writer coming in between is seen and nothing is filed twice; and the command runs
it through a real writer process on a database file."""

from __future__ import annotations

import gc
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from weibao.ledger.generate import run as generate
from weibao.ledger.ingest import ingest_rows
from weibao.ledger.ingest.pipeline import InlineWriter, Job, ingest_chunks
from weibao.ledger.models import Batch, Event, Item
from weibao.ledger.tests.test_generate import rows_of
from weibao.ledger.tests.test_ingest import at, chain, produce
from weibao.tests.factories import LedgerWorld, World, ledger_world, shell_code

pytestmark = pytest.mark.django_db

EVENT_FIELDS = (
    "code",
    "kind",
    "at",
    "enterprise_id",
    "site_id",
    "person_id",
    "counterpart_id",
    "project_id",
    "container",
    "product",
    "quantity",
    "purchase_permit",
    "transport_permit",
)


@pytest.fixture
def lw(world: World) -> LedgerWorld:
    return ledger_world(world)


def snapshot() -> tuple[list[Any], list[Any]]:
    items = sorted(Item.objects.values_list(*(f.attname for f in Item._meta.concrete_fields)))
    events = list(Event.objects.order_by("id").values_list(*EVENT_FIELDS))
    return items, events


def outcomes(results: Sequence[Any]) -> list[Any]:
    return [(r.accepted, r.rows, [(e.row, e.field, e.code) for e in r.errors]) for r in results]


def both_ways(rows: list[dict[str, Any]], size: int) -> None:
    """File `rows` in batches of `size` one after another, then (on an empty ledger) through
    the pipeline; both give the same outcomes and the same ledger."""
    chunks = [rows[i : i + size] for i in range(0, len(rows), size)]
    one_by_one = [
        ingest_rows(c, source=Batch.Source.FILE, file_name="f.csv", max_rows=size) for c in chunks
    ]
    expected = snapshot()
    Event.objects.all().delete()
    Item.objects.all().delete()
    Batch.objects.all().delete()
    piped = ingest_chunks([("f.csv", c) for c in chunks], size=size, channel=InlineWriter())
    assert outcomes(piped) == outcomes(one_by_one)
    assert snapshot() == expected
    assert [r.batch.rows for r in piped] == [len(c) for c in chunks]
    assert all(r.batch.status == ("accepted" if r.accepted else "rejected") for r in piped)


def with_mistakes(lw: LedgerWorld) -> list[dict[str, Any]]:
    """The chain with rows that fail: a rejected batch must carry nothing over, and what
    depended on it fails after it too."""
    rows = chain(lw)
    rows.insert(12, {"code": shell_code(99), "event": "received", "at": at(1), "unit": "x"})
    rows.insert(
        20,
        {
            "code": shell_code(3),
            "event": "issued",
            "at": at(25),
            "unit": lw.seller.uscc,
            "person": "110101199001011234",
            "project": lw.project.code,
        },
    )
    # A chip UID taken, and a production sent twice, by the row (the batch) before.
    again = produce(lw, range(50, 53))
    again[1]["chip_uid"] = again[0]["chip_uid"]
    rows += [again[0], again[1], again[2], dict(again[2])]
    return rows


@pytest.mark.parametrize("size", [1, 3, 7, 40])
def test_the_pipeline_files_what_one_batch_after_another_would(lw: LedgerWorld, size: int) -> None:
    both_ways(with_mistakes(lw), size)


def test_a_generated_history_comes_out_the_same(tmp_path: Path) -> None:
    """Boxes and cases packed, shipped, split, issued and returned across batch boundaries."""
    result = generate(items=400, seed=11, out=tmp_path, days=16)
    rows = rows_of(result)
    both_ways(rows, 97)
    assert Batch.objects.filter(status="accepted").count() == -(-len(rows) // 97)


class Race(InlineWriter):
    """Another writer files `foreign` after the second batch is sent, before it is filed."""

    def __init__(self, foreign: list[dict[str, Any]]) -> None:
        super().__init__()
        self.foreign = foreign
        self.sent = 0

    def send(self, packed: Job) -> None:
        super().send(packed)
        self.sent += 1
        if self.sent == 2:
            assert ingest_rows(self.foreign).accepted


def test_another_writer_in_between_is_seen_and_nothing_is_filed_twice(lw: LedgerWorld) -> None:
    def pack(n: int, hours: float) -> dict[str, Any]:
        return {
            "code": shell_code(n),
            "event": "packed",
            "at": at(hours),
            "unit": lw.producer.uscc,
            "container": "BOX-0009",
        }

    chunks = [produce(lw, range(1, 4)), [pack(1, 1)], [pack(2, 2)]]
    results = ingest_chunks([("f.csv", c) for c in chunks], size=10, channel=Race([pack(1, 1)]))
    # The second batch was checked against a ledger without the other writer's row: it is
    # filed again the ordinary way and is then a duplicate; the third, validated against what
    # the second was to leave, is validated again and accepted.
    assert outcomes(results) == [
        (True, 3, []),
        (False, 1, [(1, "at", "duplicate")]),
        (True, 1, []),
    ]
    assert Event.objects.filter(code=shell_code(1), kind="packed").count() == 1
    assert Item.objects.get(code="BOX-0009").quantity == 2


def _weibao(database: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    drop = {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "TEST_SQLITE_NAME"}
    clean = {k: v for k, v in os.environ.items() if k not in drop}
    done = subprocess.run(
        [sys.executable, "-m", "weibao.cli", *args],
        env={**clean, "DEBUG": "1", "DATABASE_URL": f"sqlite:///{database}", **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def _ledger(database: Path) -> tuple[list[Any], list[Any]]:
    with sqlite3.connect(database) as db:
        items = sorted(db.execute("SELECT * FROM ledger_item"))
        events = list(db.execute(f"SELECT {', '.join(EVENT_FIELDS)} FROM ledger_event ORDER BY id"))
        batches = db.execute("SELECT COUNT(*), SUM(status = 'accepted') FROM ledger_batch")
        assert batches.fetchone()[0] > 5
    return items, events


@pytest.mark.slow
@pytest.mark.django_db(databases=[])
def test_the_command_files_through_a_writer_process(tmp_path: Path) -> None:
    """`weibao ledger ingest` on a database file: a real writer process, the same ledger as
    the batches one after another."""
    base = tmp_path / "base.sqlite3"
    _weibao(base, "migrate", "-v0")
    _weibao(base, "ledger", "generate", "--items", "300", "--seed", "5", "--out", str(tmp_path))
    files = sorted(str(p) for p in tmp_path.glob("events*.csv"))
    assert files
    ledgers = []
    for pipeline in ("1", "0"):
        database = tmp_path / f"ledger-{pipeline}.sqlite3"
        with sqlite3.connect(base) as source, sqlite3.connect(database) as target:
            source.backup(target)
        out = _weibao(
            database,
            "ledger",
            "ingest",
            *files,
            "--batch-rows",
            "150",
            LEDGER_INGEST_PIPELINE=pipeline,
        ).stdout
        assert ("writer process" in out) == (pipeline == "1"), out
        ledgers.append(_ledger(database))
    assert ledgers[0] == ledgers[1]
    assert len(ledgers[0][1]) > 1000


def test_the_collector_is_paused_while_a_batch_is_filed(
    lw: LedgerWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    from weibao.ledger.ingest import batch, pipeline

    seen = []
    real = batch.validate

    def spy(*args: Any) -> Any:
        seen.append(gc.isenabled())
        return real(*args)

    monkeypatch.setattr(batch, "validate", spy)
    monkeypatch.setattr(pipeline, "validate", spy)
    assert gc.isenabled()
    assert ingest_rows(produce(lw, range(1, 3))).accepted
    ingest_chunks([("f.csv", produce(lw, range(3, 5)))], size=10, channel=InlineWriter())
    assert seen == [False, False]
    assert gc.isenabled()


def test_pauses_nest_overlap_across_threads_and_survive_errors() -> None:
    from weibao.ledger.ingest.batch import collector_paused

    with collector_paused():
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), collector_paused():
        1 / 0  # noqa: B018
    assert gc.isenabled()
    # Two threads: the first ends while the second still runs; the collector stays paused
    # until the second ends.
    first_in, first_out, second_done = threading.Event(), threading.Event(), threading.Event()
    states: list[bool] = []

    def first() -> None:
        with collector_paused():
            first_in.set()
            first_out.wait(5)

    def second() -> None:
        first_in.wait(5)
        with collector_paused():
            first_out.set()
            worker.join(5)
            states.append(gc.isenabled())
        second_done.set()

    worker = threading.Thread(target=first)
    other = threading.Thread(target=second)
    worker.start()
    other.start()
    other.join(5)
    assert second_done.is_set() and states == [False]
    assert gc.isenabled()
    # A collector that was off before is left off.
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_file_is_filed_with_the_ingest_page_cache(
    lw: LedgerWorld, tmp_path: Path, settings: Any
) -> None:
    from django.db import connection

    from weibao.ledger.ingest import ingest_file
    from weibao.ledger.tests.test_api import to_csv

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's page cache")
    settings.LEDGER_INGEST_SQLITE_CACHE_MB = 12
    path = tmp_path / "events.csv"
    path.write_text(to_csv(produce(lw, range(1, 3))), encoding="utf-8")
    assert [r.accepted for r in ingest_file(str(path))] == [True]
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        assert cursor.fetchone()[0] == -12 * 1024
