"""Internal-reports benchmark: 5,000 units, each with its reporting channel, and 200,000 reports.

Measures public submission through the service (reports per second, without a photo and with a
phone-sized one, which is re-encoded), the same through the public API, receipt lookups (median
and p99 for known, unknown and malformed codes: they should be alike, so timing tells nothing
about which codes exist), the city's oversight figures (time and queries, by the selector, the
API and the page) and the unit's queue (list API and page, query counts).

Run: `.venv/bin/python bench/reporting.py [--units 5000] [--reports 200000] [--submissions 300]`.
Uses a throwaway SQLite database and media directory unless DATABASE_URL is set (point it at a
scratch PostgreSQL database, never production). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import atexit
import hashlib
import io
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from datetime import time as clock
from decimal import Decimal
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
# 20 reports in a cycle: most decided, a few waiting (recent ones) and a few left too long.
STATUSES = ["rewarded"] * 5 + ["confirmed"] * 3 + ["rejected"] * 4 + ["duplicate"] * 2
STATUSES += ["verifying"] * 3 + ["submitted"] * 3
CATEGORIES = ["unsafe_act", "unsafe_equipment", "unsafe_environment", "management_gap"]
KNOWN = 2000  # reports whose receipt code the benchmark keeps, to look them up


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(len(ordered) * share) - 1))]


def phone_photo() -> bytes:
    """A 4032 × 3024 JPEG (a 12 MP phone photo, ~2 MB) with EXIF, as phones upload them."""
    from PIL import Image

    noise = Image.effect_noise((4032, 3024), 40).convert("RGB")
    gradient = Image.linear_gradient("L").resize((4032, 3024)).convert("RGB")
    image = Image.blend(noise, gradient, 0.6)
    exif = Image.Exif()
    exif[0x0110] = "BenchPhone 12"
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85, exif=exif)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=5000)
    parser.add_argument("--reports", type=int, default=200_000)
    parser.add_argument("--submissions", type=int, default=300)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="weibao-bench-")
    atexit.register(tmp.cleanup)
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp.name}/bench.sqlite3")
    os.environ.setdefault("DEBUG", "1")
    os.environ["MEDIA_ROOT"] = f"{tmp.name}/media"
    os.environ["DJANGO_SETTINGS_MODULE"] = "weibao.settings"
    import django

    django.setup()
    import logging

    from django.conf import settings
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from weibao.accounts.models import Agency, Role, User
    from weibao.core.context import acting_as
    from weibao.registry.models import Enterprise
    from weibao.registry.validators import make_uscc
    from weibao.reporting import receipts, selectors, services
    from weibao.reporting.models import InternalReport, ReportChannel

    settings.ALLOWED_HOSTS = ["*"]
    # Every unknown receipt is a 404, which Django logs as a warning: thousands of lines.
    logging.getLogger("django.request").setLevel(logging.ERROR)
    # Notifications e-mail after commit through the task queue; measure reporting, not SMTP.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    # The public endpoints' rate limits would stop the benchmark's own requests.
    settings.REPORT_LIMIT_PER_DEVICE = settings.REPORT_LIMIT_PER_ADDRESS = 10**9
    settings.REPORT_LOOKUP_LIMIT_PER_ADDRESS = 10**9
    call_command("migrate", verbosity=0)
    with acting_as(label="bench"):
        city_bureau = Agency.objects.create(
            name="衡阳市公安局治安管理支队", kind="city_bureau", jurisdiction_id="430400"
        )
        city = User.objects.create(
            username="bench-city", role=Role.CITY_REGULATOR, agency=city_bureau
        )
        for n, code in enumerate(COUNTIES):
            bureau = Agency.objects.create(
                name=f"衡阳基准分局{n}", kind="county_bureau", jurisdiction_id=code
            )
            User.objects.create(username=f"bench-{code}", role=Role.COUNTY_REGULATOR, agency=bureau)

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
    channels = ReportChannel.objects.bulk_create(
        ReportChannel(
            enterprise=unit,
            token=secrets.token_urlsafe(18),
            reward_general=Decimal("200"),
            reward_major=Decimal("2000"),
            reward_cap=Decimal("10000"),
            verify_within=5,
            verify_in_working_days=True,
        )
        for unit in units
    )
    with acting_as(label="bench"):
        officer = User.objects.create(
            username="bench-unit", role=Role.UNIT_SAFETY_OFFICER, enterprise=units[0]
        )
    known: list[str] = []
    batch: list[InternalReport] = []
    for n in range(args.reports):
        status = STATUSES[n % len(STATUSES)]
        waiting = status in ("submitted", "verifying")
        # Waiting reports are mostly recent; one in four is left past its limit.
        age = (n % 5 if n % 4 else 20 + n % 60) if waiting else n % 365
        submitted_on = today - timedelta(days=age)
        verify_by = submitted_on + timedelta(days=7)
        decided_on = None if waiting else submitted_on + timedelta(days=3 if n % 6 else 10)
        if n < KNOWN:
            code = receipts.new_code()
            known.append(code)
            digest = receipts.digest(code)
        else:
            digest = hashlib.sha256(f"bench-{n}".encode()).hexdigest()
        batch.append(
            InternalReport(
                enterprise=units[n % len(units)],
                via="qr",
                category=CATEGORIES[n % 4],
                location="基准库房门口",
                description=f"基准内部报告{n}：库房防爆灯损坏",
                status=status,
                anonymous=n % 3 != 0,
                submitted_at=timezone.make_aware(datetime.combine(submitted_on, clock(9))),
                submitted_on=submitted_on,
                verify_by=verify_by,
                receipt_hash=digest,
                decided_on=decided_on,
                reward_proposed=Decimal("200") if status in ("confirmed", "rewarded") else None,
                reward_amount=Decimal("200") if status == "rewarded" else None,
                reward_paid_on=decided_on + timedelta(days=5) if status == "rewarded" else None,
                escalated_at=timezone.now() if waiting and age >= 20 and n % 8 == 0 else None,
            )
        )
        if len(batch) == 20_000:
            InternalReport.objects.bulk_create(batch)
            batch = []
    InternalReport.objects.bulk_create(batch)
    from weibao.core.tasks import optimize_database

    optimize_database.call()
    print(f"db: {connection.vendor}")
    print(
        f"setup: {len(units)} units, {InternalReport.objects.count()} reports in "
        f"{time.perf_counter() - start:.1f}s"
    )

    # --- public submission ------------------------------------------------------------------
    photo = phone_photo()
    data = {
        "category": "unsafe_equipment",
        "description": "3号库房防爆灯损坏，灯罩破裂",
        "location": "3号库房门口",
        "anonymous": True,
    }

    def submit_rate(label: str, count: int, with_photo: bool) -> None:
        t = time.perf_counter()
        for n in range(count):
            photos = [SimpleUploadedFile("IMG_0001.jpg", photo, "image/jpeg")] if with_photo else []
            services.report_submit_public(
                token=channels[(n * 37) % len(channels)].token, data=data, photos=photos
            )
        took = time.perf_counter() - t
        print(f"{label:<44} {count / took:8.1f} reports/s  ({took * 1000 / count:6.1f} ms each)")

    submit_rate("submit (service), no photo", args.submissions, False)
    submit_rate(
        f"submit (service), one {len(photo) // 1024} KB 12 MP photo", args.submissions // 5, True
    )
    client = Client()
    t = time.perf_counter()
    for n in range(args.submissions):
        response: Any = client.post(
            "/api/v1/public/internal-reports/",
            {**data, "unit_token": channels[(n * 53) % len(channels)].token},
            content_type="application/json",
        )
        assert response.status_code == 201, response.content[:300]
    took = time.perf_counter() - t
    print(
        f"{'submit (public API, JSON), no photo':<44} {args.submissions / took:8.1f} reports/s"
        f"  ({took * 1000 / args.submissions:6.1f} ms each)"
    )

    # --- receipt lookups --------------------------------------------------------------------
    unknown = [receipts.new_code() for _ in range(KNOWN)]
    malformed = [f"{secrets.token_hex(8)}!" for _ in range(KNOWN)]

    def lookups(label: str, codes: list[str], look: Callable[[str], Any]) -> None:
        timings = []
        for code in codes:
            t = time.perf_counter()
            look(code)
            timings.append((time.perf_counter() - t) * 1e6)
        print(
            f"{label:<44} median {statistics.median(timings):8.1f} µs"
            f"  p99 {percentile(timings, 0.99):8.1f} µs"
        )

    print("receipt lookup (selector):")
    for label, codes in (("known", known), ("unknown", unknown), ("malformed", malformed)):
        lookups(f"  {label} codes", codes, selectors.report_by_receipt)
    print("receipt lookup (public API, 404 for unknown and malformed):")

    def api_lookup(code: str) -> None:
        response = client.get(f"/api/v1/public/internal-reports/{code}/")
        assert response.status_code in (200, 404), response.status_code

    for label, codes in (("known", known), ("unknown", unknown), ("malformed", malformed)):
        lookups(f"  {label} codes", codes[:500], api_lookup)

    # --- oversight and the queue ------------------------------------------------------------
    def timed(label: str, run: Callable[[], Any], repeat: int) -> None:
        timings = []
        for _ in range(repeat):
            t = time.perf_counter()
            run()
            timings.append((time.perf_counter() - t) * 1000)
        queries = 0

        def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            nonlocal queries
            queries += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            run()
        print(
            f"{label:<44} median {statistics.median(timings):8.1f} ms"
            f"  max {max(timings):8.1f} ms  queries {queries}"
        )

    def oversight() -> None:
        units_rows, _counties, total = selectors.oversight(city)
        assert len(units_rows) == len(units) and total.received >= args.reports

    timed("oversight, city (selector, all units)", oversight, 5)
    web = Client()
    web.force_login(city)

    def get(client: Client, url: str) -> Callable[[], None]:
        def run() -> None:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)

        return run

    timed("oversight, city (API)", get(web, "/api/v1/internal-reports/oversight/"), 5)
    timed("oversight, city (page)", get(web, reverse("report-oversight")), 5)
    timed("report list API (50), city", get(web, "/api/v1/internal-reports/?page_size=50"), 10)
    unit = Client()
    unit.force_login(officer)
    requests = args.requests
    timed(
        "unit queue: list API (50), unit officer",
        get(unit, "/api/v1/internal-reports/?page_size=50"),
        requests,
    )
    timed(
        "unit queue: waiting, list API (50)",
        get(unit, "/api/v1/internal-reports/?page_size=50&status=submitted"),
        requests,
    )
    timed("unit queue: page", get(unit, reverse("report-list")), requests)


if __name__ == "__main__":
    main()
