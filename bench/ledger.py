"""Traceability-ledger benchmark (issue #7): generate, ingest, reconcile, authorize, trace.

Run: `.venv/bin/python bench/ledger.py [--items 2000000] [--seed 1] [--engine duckdb|spark|both]
[--database-url URL] [--format csv|parquet] [--skip-reconcile] [--requests 200]`.

Uses a throwaway SQLite file per run unless `--database-url` (or DATABASE_URL) names another
database: point it at a scratch PostgreSQL database, never production (the benchmark migrates
it and adds its rows). Prints, asserting nothing (the issue's targets are read here):

- generation: items, events, time;
- ingest: events/s end to end through `ingest_file` (validation and state included), and the
  same rows inserted by a bare `executemany` into a scratch copy of the event table (same
  columns and indexes, one transaction per 100,000 rows): the limit, and the ratio;
- reconciliation on DuckDB: the Parquet export (first run: everything), the checks in a fresh
  process (time, its peak RSS), precision and recall against the generator's ground truth, and
  the ratio to a minimal hand-written DuckDB anti-join over the same Parquet (the not-received
  check alone); storing the anomalies;
- the same checks on Spark `local[2]` (`--engine spark|both`; needs pyspark and Java 17):
  session start, checks, the JVM's peak RSS, and whether the findings equal DuckDB's;
- firing authorization of 400 UIDs, through the API (device token) and the service alone:
  median and p99;
- item trace: median through the selector and the API.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHECKS_TIMEOUT = 3600  # seconds a run of the checks may take before it is given up
sys.path.insert(0, str(ROOT))


def setup(database_url: str, export_dir: Path) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["LEDGER_EXPORT_DIR"] = str(export_dir)
    # The signing key the authorizations are signed with: a throwaway one, next to the export.
    os.environ["LEDGER_SIGNING_KEY_STORE"] = str(export_dir.parent / "signing-key.pem")
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("AUTH_THROTTLE_RATE", "100000/min")
    os.environ["DJANGO_SETTINGS_MODULE"] = "weibao.settings"
    import django

    django.setup()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def peak_kb(pid: int | str = "self") -> int:
    """Peak resident set size of a process (VmHWM), in kB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def line(label: str, value: str) -> None:
    print(f"  {label:<44} {value}", flush=True)


def section(title: str) -> None:
    print(f"\n{title}", flush=True)


# --- the checks, in a fresh process (clean peak memory) -------------------------------------
def checks_child(args: argparse.Namespace) -> None:
    setup(args.database_url, Path(args.export_dir))
    from weibao.ledger import reconcile

    as_of = datetime.fromisoformat(args.as_of)
    out: dict[str, Any] = {}
    if args.engine == "spark":
        from weibao.ledger.reconcile import spark_engine

        started = time.perf_counter()
        spark = spark_engine.session(args.master)
        out["session_seconds"] = time.perf_counter() - started
        started = time.perf_counter()
        params = reconcile.params_for(as_of)
        findings = spark_engine.find(Path(args.export_dir), params, spark=spark)
        out["seconds"] = time.perf_counter() - started
        out["jvm_peak_kb"] = sum(peak_kb(pid) for pid in descendants(os.getpid()))
        spark.stop()
    else:
        started = time.perf_counter()
        findings = reconcile.find(engine="duckdb", as_of=as_of, export_dir=args.export_dir)
        out["seconds"] = time.perf_counter() - started
    out["peak_kb"] = max(peak_kb(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    out["keys"] = [f.key for f in findings]
    out["digest"] = hashlib.sha256(repr(findings).encode()).hexdigest()
    print(json.dumps(out))


def run_checks(engine: str, database_url: str, export_dir: Path, as_of: datetime) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--checks-child",
        "--engine",
        engine,
        "--master",
        "local[2]",
        "--database-url",
        database_url,
        "--export-dir",
        str(export_dir),
        "--as-of",
        as_of.isoformat(),
    ]
    try:
        done = subprocess.run(  # noqa: S603
            command, capture_output=True, text=True, check=False, timeout=CHECKS_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        return {"timeout": CHECKS_TIMEOUT}
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"the {engine} checks failed")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def precision_recall(found: set[str], truth: set[str]) -> tuple[float, float]:
    hits = len(found & truth)
    return (hits / len(found) if found else 1.0), (hits / len(truth) if truth else 1.0)


# --- the benchmark ---------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=2_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--engine", choices=["duckdb", "spark", "both"], default="duckdb")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--skip-reconcile", action="store_true")
    parser.add_argument("--checks-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--master", default="local[2]", help=argparse.SUPPRESS)
    parser.add_argument("--export-dir", default="", help=argparse.SUPPRESS)
    parser.add_argument("--as-of", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.checks_child:
        checks_child(args)
        return

    tmp = Path(tempfile.mkdtemp(prefix="weibao-bench-ledger-"))
    database_url = args.database_url or os.environ.get("DATABASE_URL", "")
    database_url = database_url or f"sqlite:///{tmp}/bench.sqlite3"
    export_dir = tmp / "export"
    setup(database_url, export_dir)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    print(f"ledger benchmark: {args.items:,} items, seed {args.seed}, {connection.vendor}")
    print(f"  work directory {tmp}")

    result = generate(args, tmp)
    ingest(result)
    limit(result)
    if not args.skip_reconcile:
        reconcile_all(args, result, database_url, export_dir)
    authorize(result, args.requests)
    trace(result, args.requests)


def generate(args: argparse.Namespace, tmp: Path) -> Any:
    from weibao.core.context import acting_as
    from weibao.ledger.generate import run

    section("generation")
    with acting_as(label="bench"):
        result = run(items=args.items, seed=args.seed, out=tmp / "history", fmt=args.format)
    line("items / events", f"{result.items:,} / {result.events:,}")
    line("events per item", f"{result.events / result.items:.2f}")
    line("history", f"{result.start} to {result.end}, {len(result.event_files)} parts")
    line("injected anomalies", f"{sum(result.anomalies.values())} ({result.anomalies})")
    line("time", f"{result.seconds:.1f} s ({result.events / result.seconds:,.0f} events/s)")
    return result


def ingest(result: Any) -> None:
    from weibao.ledger.generate import load_counts
    from weibao.ledger.ingest import ingest_files
    from weibao.ledger.ingest.batch import pipelined

    how = "next validated while a writer process writes" if pipelined() else "one by one"
    section(f"ingest (ingest_files, 100,000-row batches, {how})")
    started = time.perf_counter()
    rows = rejected = 0
    phases: dict[str, float] = {}

    def report(done: int) -> None:
        nonlocal shown
        if done - shown >= 2_000_000:
            shown = done
            print(
                f"    … {done:,} events, {done / (time.perf_counter() - started):,.0f}/s",
                flush=True,
            )

    shown = 0
    for batch in ingest_files([str(p) for p in result.event_files], progress=report):
        rows += batch.rows
        for phase, spent in batch.phases.items():
            phases[phase] = phases.get(phase, 0.0) + spent
        if not batch.accepted:
            rejected += 1
            print(f"  REJECTED {batch.batch.file_name}: {[e.as_dict() for e in batch.errors[:3]]}")
    seconds = time.perf_counter() - started
    result.ingest_rate = rows / seconds
    line("events", f"{rows:,} in {seconds:.1f} s, {rejected} batches rejected")
    line("end to end", f"{result.ingest_rate:,.0f} events/s")
    phases["reading the file (rest)"] = seconds - sum(phases.values())
    for phase, spent in phases.items():
        line(f"  {phase}", f"{spent:.1f} s, {spent / rows * 1e6:.1f} µs/event")
    started = time.perf_counter()
    counts = load_counts(result.counts_file)
    line("declared counts loaded", f"{counts:,} in {time.perf_counter() - started:.1f} s")


def limit(result: Any) -> None:
    """The same rows, bare executemany into a copy of the event table (columns, indexes)."""
    from django.db import connection, transaction

    from weibao.ledger.models import Event

    section("the limit: bare executemany of the same rows")
    table, scratch = Event._meta.db_table, "bench_event_scratch"
    columns = (
        "batch_id, code, kind, at, recorded_at, enterprise_id, site_id, person_id, "
        "counterpart_id, project_id, container, product, quantity, purchase_permit, "
        "transport_permit, latitude, longitude"
    )
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {scratch}")
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT type, sql FROM sqlite_master WHERE tbl_name = %s AND sql IS NOT NULL",
                [table],
            )
            for kind, sql in cursor.fetchall():
                sql = sql.replace(f'"{table}"', f'"{scratch}"')
                if kind == "index":
                    sql = sql.replace('INDEX "', f'INDEX "{scratch}_', 1)
                cursor.execute(sql)
        else:
            cursor.execute(f"CREATE TABLE {scratch} (LIKE {table} INCLUDING ALL)")
    seconds = 0.0
    rows = 0
    last = 0
    marks = ", ".join(["%s"] * 17)
    insert = f"INSERT INTO {scratch} ({columns}) VALUES ({marks})"  # noqa: S608
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, {columns} FROM {table} WHERE id > %s ORDER BY id LIMIT 100000",  # noqa: S608
                [last],
            )
            chunk = cursor.fetchall()
        if not chunk:
            break
        last = chunk[-1][0]
        values = [
            tuple(
                adapt(v) if isinstance(v, datetime) else (str(v) if k == 13 else v)
                for k, v in enumerate(row)
            )[1:]
            for row in chunk
        ]
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(insert, values)
        seconds += time.perf_counter() - started
        rows += len(values)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {scratch}")
    rate = rows / seconds if seconds else 0.0
    line("executemany", f"{rows:,} in {seconds:.1f} s, {rate:,.0f} events/s")
    line("ingest / limit", f"{result.ingest_rate / rate:.2f}" if rate else "-")


def reconcile_all(
    args: argparse.Namespace, result: Any, database_url: str, export_dir: Path
) -> None:
    from weibao.ledger import export, reconcile

    truth = set(json.loads(result.ground_truth_file.read_text(encoding="utf-8"))["keys"])
    section("reconciliation on DuckDB")
    exported = export.ledger_export(export_dir=export_dir)
    line("export to Parquet (first run: all)", f"{exported.seconds:.1f} s")
    duck = run_checks("duckdb", database_url, export_dir, result.as_of)
    if "timeout" in duck:
        line("checks", f"gave up after {duck['timeout']} s")
        return
    precision, recall = precision_recall(set(duck["keys"]), truth)
    line("checks", f"{duck['seconds']:.2f} s, peak RSS {duck['peak_kb'] / 1024:,.0f} MB")
    line("found / injected", f"{len(duck['keys'])} / {len(truth)}")
    line("precision / recall", f"{precision:.3f} / {recall:.3f}")
    missed, extra = sorted(truth - set(duck["keys"])), sorted(set(duck["keys"]) - truth)
    if missed or extra:
        line("missed (first 5)", str(missed[:5]))
        line("not injected (first 5)", str(extra[:5]))
    baseline = antijoin(export_dir, result.as_of)
    line("hand-written anti-join (not received)", f"{baseline:.2f} s")
    line("checks / anti-join", f"{duck['seconds'] / baseline:.1f}")
    started = time.perf_counter()
    stored = reconcile.run(as_of=result.as_of, export_dir=export_dir, export=False)
    line(
        "checks again and store, in process",
        f"{time.perf_counter() - started:.2f} s "
        f"(store {stored.seconds.get('store', 0):.2f} s, "
        f"{stored.store.created if stored.store else 0} anomalies)",
    )
    if args.engine in ("spark", "both"):
        section("reconciliation on Spark local[2]")
        try:
            import pyspark  # noqa: F401
        except ImportError:
            line("skipped", "pyspark is not installed (pip install -e '.[spark]')")
            return
        spark = run_checks("spark", database_url, export_dir, result.as_of)
        if "timeout" in spark:
            line("checks", f"gave up after {spark['timeout']} s")
            return
        line("session start", f"{spark['session_seconds']:.1f} s")
        line("checks", f"{spark['seconds']:.2f} s")
        line("peak RSS (driver / JVM)", f"{spark['peak_kb'] / 1024:,.0f} MB / "
             f"{spark['jvm_peak_kb'] / 1024:,.0f} MB")  # fmt: skip
        same = spark["digest"] == duck["digest"]
        line("identical to DuckDB", "yes" if same else "NO")


def antijoin(export_dir: Path, as_of: datetime) -> float:
    import duckdb

    parts = str(export_dir / "events" / "*.parquet")
    cutoff = int(as_of.timestamp()) - 72 * 3600
    sql = f"""
        SELECT s.code FROM read_parquet('{parts}') s
        WHERE s.kind = 'shipped' AND s.at <= {cutoff}
          AND NOT EXISTS (
              SELECT 1 FROM read_parquet('{parts}') r
              WHERE r.kind = 'received' AND r.code = s.code
                AND r.at > s.at AND r.at <= s.at + {72 * 3600})
    """  # noqa: S608
    con = duckdb.connect()
    try:
        started = time.perf_counter()
        con.execute(sql).fetchall()
        return time.perf_counter() - started
    finally:
        con.close()


def authorize(result: Any, requests: int) -> None:
    section("firing authorization, 400 UIDs")
    try:
        from weibao.ledger import firing
        from weibao.ledger.authentication import token_hash
    except ImportError:
        line("skipped", "weibao.ledger.firing is not there yet")
        return
    from django.db.models import Count
    from django.test import Client
    from django.utils import timezone

    import weibao.wsgi  # noqa: F401 - settles startup objects as a served process does
    from weibao.ledger.models import BlastingProject, Device, Item

    electronic = Item.objects.filter(product="electronic_detonator", chip_uid__isnull=False)
    holders = (
        electronic.filter(state="in_store")
        .values("holder_id")
        .annotate(n=Count("code"))
        .order_by("-n")
    )
    contractors = {u.pk for u in result.world.contractors}
    best = next((h for h in holders if h["holder_id"] in contractors), None)
    if best is None:
        line("skipped", "no contractor holds electronic detonators")
        return
    unit = best["holder_id"]
    uids = list(
        electronic.filter(holder_id=unit, state="in_store").values_list("chip_uid", flat=True)[:400]
    )
    if len(uids) < 400:  # a small history: the rest are used ones (answered "used")
        uids += list(
            electronic.filter(holder_id=unit)
            .exclude(chip_uid__in=uids)
            .values_list("chip_uid", flat=True)[: 400 - len(uids)]
        )
    project = BlastingProject.objects.filter(enterprise_id=unit).first()
    assert project is not None
    now = timezone.now()
    BlastingProject.objects.filter(pk=project.pk).update(
        starts_at=min(project.starts_at, now - timedelta(days=1)), ends_at=now + timedelta(days=1)
    )
    token = secrets.token_urlsafe(32)
    device = Device.objects.create(
        enterprise_id=unit, device_id=f"BENCH-{secrets.token_hex(4)}", token_hash=token_hash(token)
    )
    device = Device.objects.select_related("enterprise").get(pk=device.pk)
    body = {
        "device_id": device.device_id,
        "latitude": project.latitude,
        "longitude": project.longitude,
        "project": project.code,
        "unit": device.enterprise.uscc,
        "uids": uids,
    }
    client = Client()
    timings = []
    for n in range(requests + 10):
        started = time.perf_counter()
        response = client.post(
            "/api/v1/ledger/firing-authorizations/",
            data=json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Device {token}",
        )
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            line("API", f"answered {response.status_code}: not measured")
            break
        if n == 0:
            payload = response.json()["payload"]
            given = payload.get("work_codes", 0)
            line(
                "UIDs asked / work codes given", f"{len(uids)} / {given} {payload.get('error', '')}"
            )
        if n >= 10:
            timings.append(elapsed * 1000)
    if timings:
        line(
            "API: median / p99",
            f"{statistics.median(timings):.1f} ms / {percentile(timings, 0.99):.1f} ms",
        )
    request = firing.FiringRequest(
        device_id=device.device_id,
        latitude=project.latitude,
        longitude=project.longitude,
        project=project.code,
        unit=device.enterprise.uscc,
        uids=uids,
    )
    timings = []
    for n in range(requests + 10):
        started = time.perf_counter()
        record = firing.authorize(device=device, request=request)
        if n == 0:
            line("service: work codes given", f"{record.granted} {record.error}")
        if n >= 10:
            timings.append((time.perf_counter() - started) * 1000)
    line(
        "service alone: median / p99",
        f"{statistics.median(timings):.1f} ms / {percentile(timings, 0.99):.1f} ms",
    )


def trace(result: Any, requests: int) -> None:
    section("item trace")
    try:
        from weibao.ledger import selectors
    except ImportError:
        line("skipped", "weibao.ledger.selectors is not there yet")
        return
    import random

    from django.test import Client

    from weibao.accounts.models import Agency, Role, User
    from weibao.core.context import acting_as
    from weibao.ledger.models import Item

    rng = random.Random(1)  # noqa: S311 - picking sample codes
    fired = list(
        Item.objects.filter(state="fired", level="item").values_list("code", flat=True)[:5000]
    )
    codes = [rng.choice(fired) for _ in range(requests)] if fired else []
    if not codes:
        line("skipped", "no fired item to trace")
        return
    timings = []
    for code in codes:
        started = time.perf_counter()
        selectors.item_trace(code)
        timings.append((time.perf_counter() - started) * 1000)
    line("selector (item_trace): median / p99",
         f"{statistics.median(timings):.2f} ms / {percentile(timings, 0.99):.2f} ms")  # fmt: skip
    with acting_as(label="bench"):
        agency, _new = Agency.objects.get_or_create(
            name="衡阳市公安局治安管理支队",
            jurisdiction_id="430400",
            defaults={"kind": "city_bureau", "name_en": "Hengyang city bureau"},
        )
        user, _new = User.objects.get_or_create(
            username="bench-ledger-city",
            defaults={"role": Role.CITY_REGULATOR, "agency": agency},
        )
    client = Client()
    client.force_login(user)
    timings = []
    for code in codes:
        started = time.perf_counter()
        response = client.get(f"/api/v1/ledger/items/{code}/")
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            line("API answered", f"{response.status_code} {response.content[:200]!r}")
            return
    line("API (city regulator): median / p99",
         f"{statistics.median(timings):.2f} ms / {percentile(timings, 0.99):.2f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
