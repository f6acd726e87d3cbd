"""Hazard-ledger benchmark: 5,000 units and 300,000 hazards.

Measures the hazard list (filtered to overdue in one county), a hazard page, the county
officer's home page, the hazard list API, and the daily follow-up job.

Run: `.venv/bin/python bench/hazards.py [--units 5000] [--hazards 300000] [--requests 30]`.
Uses a throwaway SQLite database unless DATABASE_URL is set (point it at a scratch PostgreSQL
database, never production). Prints median and p95 latencies and query counts; asserts nothing
(the issue's targets, pages ≤ 200 ms and the daily job ≤ 30 s, are read here, not enforced).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

COUNTIES = [
    "430405",
    "430406",
    "430407",
    "430408",
    "430412",
    "430421",
    "430422",
    "430423",
    "430424",
    "430426",
    "430481",
    "430482",
]
STATUSES = ["closed"] * 6 + ["open", "rectifying", "awaiting_acceptance", "cancelled"]
CATEGORIES = ["storage", "security", "personnel", "licence", "equipment", "management"]


def percentiles(timings: list[float]) -> tuple[float, float]:
    ordered = sorted(timings)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return statistics.median(ordered), p95


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=5000)
    parser.add_argument("--hazards", type=int, default=300_000)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="weibao-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3")
    os.environ.setdefault("DEBUG", "1")
    os.environ["DJANGO_SETTINGS_MODULE"] = "weibao.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from django.utils import timezone

    from weibao.accounts.models import Agency, Role, User
    from weibao.core.context import acting_as
    from weibao.hazards.followup import run_followup
    from weibao.hazards.models import Hazard, HazardEvent
    from weibao.registry.models import Enterprise
    from weibao.registry.validators import make_uscc

    settings.ALLOWED_HOSTS = ["*"]
    # The daily job e-mails after commit through the task queue; measure the job, not SMTP.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    call_command("migrate", verbosity=0)
    with acting_as(label="bench"):
        county_bureau = Agency.objects.create(
            name="衡阳市公安局珠晖分局", kind="county_bureau", jurisdiction_id=COUNTIES[0]
        )
        officer = User.objects.create(
            username="bench-county", role=Role.COUNTY_REGULATOR, agency=county_bureau
        )
        User.objects.create(
            username="bench-county-2", role=Role.COUNTY_REGULATOR, agency=county_bureau
        )

    # Setup by bulk_create: fast, but it bypasses save(), so these rows get no audit entries.
    # That is fine for measuring reads and the daily job.
    start = time.perf_counter()
    today = timezone.localdate()
    units = Enterprise.objects.bulk_create(
        Enterprise(
            uscc=make_uscc(COUNTIES[i % 12], i + 1),
            name=f"衡阳基准{i:05d}号危爆物品有限公司",
            kinds="explosives_sale,explosives_storage",
            jurisdiction_id=COUNTIES[i % 12],
            principal="张三",
        )
        for i in range(args.units)
    )
    batch: list[Hazard] = []
    for n in range(args.hazards):
        found = today - timedelta(days=n % 730)
        status = STATUSES[n % len(STATUSES)]
        batch.append(
            Hazard(
                enterprise=units[n % len(units)],
                source="inspection" if n % 3 else "self_inspection",
                level="major" if n % 17 == 0 else "general",
                category=CATEGORIES[n % len(CATEGORIES)],
                description=f"基准隐患{n}：库房视频监控存在盲区",
                found_on=found,
                deadline=found + timedelta(days=10 + n % 30),
                status=status,
                accepted_on=found + timedelta(days=8) if status == "closed" else None,
            )
        )
        if len(batch) == 20_000:
            Hazard.objects.bulk_create(batch)
            batch = []
    Hazard.objects.bulk_create(batch)
    sample = Hazard.objects.filter(enterprise__jurisdiction_id=COUNTIES[0]).order_by("pk")[100]
    HazardEvent.objects.bulk_create(
        HazardEvent(hazard=sample, action="reminded", actor=None, data={"days_left": 3})
        for _ in range(20)
    )
    # What the nightly maintenance job leaves behind (planner statistics on SQLite).
    from weibao.core.tasks import optimize_database

    optimize_database.call()
    print(f"db: {connection.vendor}")
    print(
        f"setup: {len(units)} units, {Hazard.objects.count()} hazards in "
        f"{time.perf_counter() - start:.1f}s"
    )

    t = time.perf_counter()
    result = run_followup()
    took = time.perf_counter() - t
    print(f"{'daily follow-up job':<34} {took:7.2f} s   ({result})")
    t = time.perf_counter()
    run_followup()
    print(f"{'daily follow-up job, run again':<34} {time.perf_counter() - t:7.2f} s")

    client = Client()
    client.force_login(officer)
    targets: list[tuple[str, str]] = [
        ("hazard list, overdue in county", reverse("hazard-list") + "?overdue=true"),
        ("hazard page", reverse("hazard-detail", args=[sample.pk])),
        ("county home page", reverse("home")),
        ("hazard list API (50), overdue", "/api/v1/hazards/?overdue=true&page_size=50"),
    ]
    for label, url in targets:
        timings = []
        for _ in range(args.requests):
            t = time.perf_counter()
            response: Any = client.get(url)
            timings.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        p50, p95 = percentiles(timings)
        print(f"{label:<34} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  queries {len(queries)}")


if __name__ == "__main__":
    main()
