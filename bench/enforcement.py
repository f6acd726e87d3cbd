"""Escalation benchmark: the daily job that proposes cases for repeat refusal, over 5,000 units
and 300,000 hazards.

Measures the first run on an old ledger (most units have facts: one proposal each), the same
day's rerun (the scan only: nothing is proposed twice), the next day's run after a few more
hazards ran late (a few proposals get new facts).

Run: `.venv/bin/python bench/enforcement.py [--units 5000] [--hazards 300000]`.
Uses a throwaway SQLite database unless DATABASE_URL is set (point it at a scratch PostgreSQL
database, never production). Prints times and query counts; asserts nothing (the daily job's
target, ≤ 30 s, is read here, not enforced).
"""

from __future__ import annotations

import argparse
import atexit
import os
import sys
import tempfile
import time
from datetime import date, timedelta
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=5000)
    parser.add_argument("--hazards", type=int, default=300_000)
    args = parser.parse_args()

    if "DATABASE_URL" not in os.environ:
        # A throwaway database (hundreds of MB at full size) that goes when the run ends.
        tmp = tempfile.TemporaryDirectory(prefix="weibao-bench-")
        atexit.register(tmp.cleanup)
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp.name}/bench.sqlite3"
    os.environ.setdefault("DEBUG", "1")
    os.environ["DJANGO_SETTINGS_MODULE"] = "weibao.settings"
    import django

    django.setup()
    import logging

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from weibao.accounts.models import Agency, Role, User
    from weibao.core.context import acting_as
    from weibao.enforcement.escalation import run_escalation
    from weibao.enforcement.models import Case, EscalationFact
    from weibao.hazards.models import Hazard
    from weibao.registry.models import Enterprise
    from weibao.registry.validators import make_uscc

    logging.getLogger("weibao.enforcement.escalation").setLevel(logging.WARNING)
    # The job e-mails after commit through the task queue; measure the job, not SMTP.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    call_command("migrate", verbosity=0)
    with acting_as(label="bench"):
        Agency.objects.create(
            name="衡阳市公安局治安管理支队", kind="city_bureau", jurisdiction_id="430400"
        )
        for n, code in enumerate(COUNTIES):
            bureau = Agency.objects.create(
                name=f"衡阳基准分局{n}", kind="county_bureau", jurisdiction_id=code
            )
            for i in (1, 2):
                User.objects.create(
                    username=f"bench-{code}-{i}", role=Role.COUNTY_REGULATOR, agency=bureau
                )

    # Setup by bulk_create: fast, but it bypasses save(), so these rows get no audit entries.
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
        deadline = found + timedelta(days=10 + n % 30)
        status = STATUSES[n % len(STATUSES)]
        late = n % 7 == 0  # handed in after the deadline
        handed_in = deadline + timedelta(days=3 if late else -2)
        batch.append(
            Hazard(
                enterprise=units[n % len(units)],
                source="inspection" if n % 3 else "self_inspection",
                level="major" if n % 17 == 0 else "general",
                category=CATEGORIES[n % len(CATEGORIES)],
                description=f"基准隐患{n}：库房视频监控存在盲区",
                found_on=found,
                deadline=deadline,
                status=status,
                extension_count=1 if n % 11 == 0 else 0,
                overdue_since=deadline + timedelta(days=1)
                if late or status in ("open", "rectifying")
                else None,
                rectified_on=handed_in if status in ("closed", "awaiting_acceptance") else None,
                accepted_on=handed_in + timedelta(days=1) if status == "closed" else None,
            )
        )
        if len(batch) == 20_000:
            Hazard.objects.bulk_create(batch)
            batch = []
    Hazard.objects.bulk_create(batch)
    from weibao.core.tasks import optimize_database

    optimize_database.call()
    print(f"db: {connection.vendor}")
    print(
        f"setup: {len(units)} units, {Hazard.objects.count()} hazards in "
        f"{time.perf_counter() - start:.1f}s"
    )

    def timed(label: str, day: date) -> None:
        queries = 0

        def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            nonlocal queries
            queries += 1
            return execute(sql, params, many, context)

        # A counter, not CaptureQueriesContext: that one keeps only the last 9,000 queries.
        with connection.execute_wrapper(count):
            t = time.perf_counter()
            result = run_escalation(day)
            took = time.perf_counter() - t
        print(
            f"{label:<36} {took:7.2f} s  queries {queries:6d}  proposed {result.proposed}"
            f"  appended {result.appended}  facts {result.facts}  failed {result.failed}"
        )

    timed("escalation, first run", today)
    timed("escalation, run again", today)
    # The next day: a few more hazards ran late (one in fifty units).
    new = Hazard.objects.bulk_create(
        Hazard(
            enterprise=unit,
            source="inspection",
            level="major",
            category="storage",
            description="基准隐患：新的重大隐患逾期",
            found_on=today - timedelta(days=20),
            deadline=today - timedelta(days=1),
        )
        for unit in units[::50]
    )
    timed(f"escalation, next day ({len(new)} new)", today + timedelta(days=1))
    print(f"cases: {Case.objects.count()}, facts: {EscalationFact.objects.count()}")


if __name__ == "__main__":
    main()
