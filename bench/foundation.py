"""Foundation benchmark: audit append and verify rates, list and home latencies, query counts.

Run: `.venv/bin/python bench/foundation.py [--agencies 2000]`. Uses a throwaway SQLite database
unless DATABASE_URL is set (point it at a scratch PostgreSQL database, never production).
Prints figures; it asserts nothing: targets are read, not enforced, here.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agencies", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="weibao-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3")
    os.environ.setdefault("DEBUG", "1")
    os.environ["DJANGO_SETTINGS_MODULE"] = "weibao.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from weibao.accounts.demo import load_demo
    from weibao.accounts.models import Agency, User
    from weibao.core import audit
    from weibao.core.context import acting_as

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    load_demo()
    counties = ["430405", "430406", "430407", "430408", "430421", "430481"]

    start = time.perf_counter()
    with acting_as(label="bench"), transaction.atomic():
        for i in range(args.agencies):
            Agency.objects.create(
                name=f"基准机关{i}", kind="county_bureau", jurisdiction_id=counties[i % 6]
            )
    append = time.perf_counter() - start
    print(f"db: {connection.vendor}")
    print(f"audited creates: {args.agencies} in {append:.2f}s = {args.agencies / append:.0f}/s")

    start = time.perf_counter()
    report = audit.verify_chain()
    verify = time.perf_counter() - start
    print(
        f"audit verify: {report.checked} entries in {verify:.2f}s = "
        f"{report.checked / verify:.0f}/s ok={report.ok}"
    )

    client = Client()
    for username in ("city", "zhuhui"):
        client.force_login(User.objects.get(username=username))
        for label, url in (
            ("home page", "/"),
            ("agency list API", "/api/v1/agencies/"),
            ("agency list page", "/agencies/"),
        ):
            timings = []
            for _ in range(args.requests):
                t = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - t) * 1000)
                assert response.status_code == 200, (url, response.status_code)
            with CaptureQueriesContext(connection) as q:
                client.get(url)
            timings.sort()
            p95 = timings[int(len(timings) * 0.95) - 1]
            print(
                f"{username:>7} {label:<17} p50 {statistics.median(timings):6.1f} ms  "
                f"p95 {p95:6.1f} ms  queries {len(q)}"
            )


if __name__ == "__main__":
    main()
