"""`weibao ledger`: ingest of CSV (UTF-8, GBK) and Parquet files in batches with a progress bar,
a rejected batch's report, and the reconcile and generate subcommands handing over to their
modules."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from weibao.ledger.ingest import COLUMNS
from weibao.ledger.models import Batch, Event, Item, ItemState
from weibao.ledger.tests.test_api import to_csv
from weibao.ledger.tests.test_ingest import chain, produce
from weibao.tests.factories import LedgerWorld, World, ledger_world, shell_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def lw(world: World) -> LedgerWorld:
    return ledger_world(world)


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("ledger", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_ingest_a_csv_in_batches(lw: LedgerWorld, tmp_path: Path, encoding: str) -> None:
    rows = chain(lw)
    path = tmp_path / "events.csv"
    path.write_bytes(to_csv(rows).encode(encoding))
    out, err = run("ingest", str(path), "--batch-rows", "10")
    batches = -(-len(rows) // 10)
    assert f"{len(rows)} rows in {batches} batch(es) (one after another): {batches} accepted" in out
    progress = err.strip().splitlines()
    assert progress[0].startswith("[") and "0.0%" in progress[0]
    assert "100.0%" in progress[-1] and f"{len(rows)}/{len(rows)} rows" in progress[-1]
    assert len(progress) == batches + 1
    assert Event.objects.count() == len(rows)
    assert Batch.objects.filter(source="file", status="accepted").count() == batches
    assert Item.objects.get(code=shell_code(1)).state == ItemState.FIRED


def test_ingest_a_parquet_file(lw: LedgerWorld, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = chain(lw)
    table = pa.Table.from_pylist([{c: row.get(c) for c in COLUMNS} for row in rows])
    path = tmp_path / "events.parquet"
    pq.write_table(table, path)
    out, err = run("ingest", str(path))
    assert f"{len(rows)} rows in 1 batch(es) (one after another): 1 accepted" in out
    assert "100.0%" in err
    assert Event.objects.count() == len(rows)


def test_a_rejected_batch_is_reported_and_fails_the_command(
    lw: LedgerWorld, tmp_path: Path
) -> None:
    rows = produce(lw, range(1, 4))
    rows[2]["site"] = "999999"
    path = tmp_path / "bad.csv"
    path.write_text(to_csv(rows))
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 batch"):
        call_command("ledger", "ingest", str(path), stdout=io.StringIO(), stderr=err)
    assert "row 3: site: unknown_site" in err.getvalue()
    assert Event.objects.count() == 0
    assert Batch.objects.get().status == "rejected"


def test_unreadable_files(lw: LedgerWorld, tmp_path: Path, settings: Any) -> None:
    with pytest.raises(CommandError, match="No file"):
        run("ingest", str(tmp_path / "missing.csv"))
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("code,when\nx,y\n")
    with pytest.raises(CommandError, match="header"):
        run("ingest", str(wrong))
    settings.LEDGER_MAX_BATCH_ROWS = 5
    with pytest.raises(CommandError, match="batch-rows"):
        run("ingest", str(wrong), "--batch-rows", "6")
    assert Batch.objects.count() == 0


def test_reconcile_and_generate_for_real(lw: LedgerWorld, tmp_path: Path) -> None:
    import json

    from weibao.ledger.models import Anomaly

    rows = chain(lw)
    # The chain up to BOX-0001's shipment to the contractor, which is then never received.
    shipped = next(
        i for i, r in enumerate(rows) if r["code"] == "BOX-0001" and r["event"] == "shipped"
    )
    rows = rows[: shipped + 1]
    source = tmp_path / "events.csv"
    source.write_text(to_csv(rows), encoding="utf-8")
    run("ingest", str(source))
    out, _err = run("reconcile")
    summary = json.loads(out)
    assert summary["engine"] == "duckdb"
    assert Anomaly.objects.filter(key="not_received:BOX-0001").exists()
    with pytest.raises(CommandError, match="--master"):
        run("reconcile", "--master", "local[2]")
    target = tmp_path / "generated"
    run("generate", "--items", "400", "--seed", "7", "--out", str(target))
    assert (target / "ground_truth.json").exists()


def test_a_file_is_read_as_it_goes_and_a_bad_line_later_is_named(
    lw: LedgerWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The encoding is told from the file's head; a file that turns out not to be that text
    further on stops at the batch that holds the line, after the batches before it."""
    from weibao.ledger.ingest import batch as module

    monkeypatch.setattr(module, "SNIFF_BYTES", 200)
    rows = produce(lw, range(1, 302))
    rows[-1]["project"] = "一号工地"  # written below in GBK, in a file that began as UTF-8
    text = to_csv(rows)
    head, tail = text.rsplit("\n", 2)[0], text.rsplit("\n", 2)[1]
    path = tmp_path / "mixed.csv"
    path.write_bytes(head.encode("utf-8") + b"\n" + tail.encode("gbk") + b"\n")
    with pytest.raises(CommandError, match=r"302.*UTF-8"):
        run("ingest", str(path), "--batch-rows", "100")
    # The three batches before the line that cannot be read were written, each whole.
    assert Batch.objects.filter(status="accepted").count() == 3
    assert Event.objects.count() == 300


def test_broken_csv_and_parquet_files_are_named_not_a_traceback(
    lw: LedgerWorld, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.csv"
    # A field beyond the csv module's limit (128 KiB): a file that is not the CSV it claims.
    broken.write_bytes(b"code,event,at,unit\n5361314A00001,produced,x,y\n" + b"a" * 200_000)
    with pytest.raises(CommandError, match=r"body: .*3"):
        run("ingest", str(broken))
    parquet = tmp_path / "broken.parquet"
    parquet.write_bytes(b"PAR1 this is not a parquet file")
    with pytest.raises(CommandError, match=r"file: .*Parquet"):
        run("ingest", str(parquet))
    assert Batch.objects.count() == 0
