"""Registry benchmark: unit list and detail pages, list API, export, and a 5,000-row import.

Run: `.venv/bin/python bench/registry.py [--units 5000] [--requests 30]`. Uses a throwaway SQLite
database unless DATABASE_URL is set (point it at a scratch PostgreSQL database, never
production). Prints median and p95 latencies and query counts; asserts nothing (the targets of
the registry issue, ≤ 150 ms per page and ≤ 20 s for the import, are read, not enforced, here).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
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
KINDS = [
    "explosives_sale,explosives_storage",
    "blasting",
    "fireworks_wholesale",
    "fireworks_retail",
]


def percentiles(timings: list[float]) -> tuple[float, float]:
    ordered = sorted(timings)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return statistics.median(ordered), p95


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--import-rows", type=int, default=5000)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="weibao-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3")
    os.environ.setdefault("DEBUG", "1")
    os.environ["DJANGO_SETTINGS_MODULE"] = "weibao.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import NoReverseMatch, reverse
    from django.utils import timezone
    from openpyxl import Workbook

    from weibao.accounts.models import Agency, Role, User
    from weibao.core.context import acting_as
    from weibao.registry.imports import ImportRejected, import_file
    from weibao.registry.models import Certificate, Enterprise, Permit, Person, Site
    from weibao.registry.validators import make_identity_number, make_uscc

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    with acting_as(label="bench"):
        city_bureau = Agency.objects.create(
            name="衡阳市公安局治安管理支队", kind="city_bureau", jurisdiction_id="430400"
        )
        city = User.objects.create(
            username="bench-city", role=Role.CITY_REGULATOR, agency=city_bureau
        )

    # Setup by bulk_create: fast, but it bypasses save(), so these rows get no audit entries.
    # That is fine for measuring reads; the import below goes through the services and does
    # record history for every row it writes.
    start = time.perf_counter()
    today = timezone.localdate()
    units = Enterprise.objects.bulk_create(
        Enterprise(
            uscc=make_uscc(COUNTIES[i % 12], i + 1),
            name=f"衡阳基准{i:05d}号危爆物品有限公司",
            kinds=KINDS[i % len(KINDS)],
            jurisdiction_id=COUNTIES[i % 12],
            address=f"衡阳市基准路{i}号",
            principal="张三",
            phone="0734-8000000",
        )
        for i in range(args.units)
    )
    Permit.objects.bulk_create(
        Permit(
            enterprise=unit,
            kind=kind,
            number=f"湘基准{kind}{unit.pk:06d}",
            issued_on=today - timedelta(days=700),
            expires_on=today + timedelta(days=(unit.pk * 37) % 900 - 100),
        )
        for unit in units
        for kind in ("sale", "transport")
    )
    Site.objects.bulk_create(
        Site(enterprise=unit, name=f"{unit.pk}号库房", kind="magazine", capacity_kg=5000)
        for unit in units
    )
    people = Person.objects.bulk_create(
        Person(
            enterprise=unit,
            name=f"员工{unit.pk}-{n}",
            identity_number=make_identity_number("430421", date(1980 + n, 3, 14), unit.pk),
            post=post,
            appointed_on=today - timedelta(days=400),
        )
        for unit in units
        for n, post in enumerate(("principal", "safety_officer", "blaster"))
    )
    Certificate.objects.bulk_create(
        Certificate(
            person=person,
            kind="blaster" if person.post == "blaster" else "safety_management",
            number=f"ZS{person.pk:08d}",
            issued_on=today - timedelta(days=300),
            expires_on=today + timedelta(days=(person.pk * 13) % 1200 - 100),
        )
        for person in people
    )
    print(f"db: {connection.vendor}")
    print(
        f"setup: {len(units)} units, {Permit.objects.count()} permits, {Site.objects.count()} "
        f"sites, {len(people)} people with certificates in {time.perf_counter() - start:.1f}s"
    )

    client = Client()
    client.force_login(city)
    sample = units[len(units) // 2]

    def page(name: str, *route_args: Any) -> str | None:
        try:
            return reverse(name, args=route_args)
        except NoReverseMatch:
            return None

    targets = [
        ("unit list page", page("enterprise-list")),
        ("unit detail page", page("enterprise-detail", sample.pk)),
        ("unit list API (50)", "/api/v1/enterprises/?page_size=50"),
    ]
    for label, url in targets:
        if url is None or client.get(url).status_code == 404:
            print(f"{label:<22} n/a (no such page yet)")
            continue
        timings = []
        for _ in range(args.requests):
            t = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        p50, p95 = percentiles(timings)
        print(f"{label:<22} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  queries {len(queries)}")

    t = time.perf_counter()
    response = client.get("/api/v1/enterprises/export/")
    took = time.perf_counter() - t
    assert response.status_code == 200, response.status_code
    print(
        f"{'unit export (.xlsx)':<22} {args.units} rows in {took:.2f}s, {len(response.content)} B"
    )

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("从业单位")
    sheet.append(
        ["统一社会信用代码", "名称", "经营类别", "行政区划代码", "地址", "主要负责人", "联系电话"]
    )
    for i in range(args.import_rows):
        county = COUNTIES[i % 12]
        sheet.append(
            [
                make_uscc(county, 500_000 + i),
                f"衡阳导入{i:05d}号烟花爆竹零售店",
                "烟花爆竹零售" if i % 2 else "民用爆炸物品销售、民用爆炸物品储存",
                county,
                f"衡阳市导入路{i}号",
                "李四",
                "13800000000",
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    upload = SimpleUploadedFile("units.xlsx", buffer.getvalue())
    t = time.perf_counter()
    try:
        result = import_file(actor=city, kind="enterprises", upload=upload)
    except ImportRejected as exc:
        print("import refused:", exc.errors[:5])
        raise SystemExit(1) from None
    took = time.perf_counter() - t
    print(
        f"{'unit import (.xlsx)':<22} {result.created} rows in {took:.2f}s "
        f"({result.created / took:.0f} rows/s, history recorded)"
    )


if __name__ == "__main__":
    main()
