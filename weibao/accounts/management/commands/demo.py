from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from weibao.accounts.demo import DEMO_PASSWORD, PERSONAS, load_demo


class Command(BaseCommand):
    help = "Load the demo agencies and personas (idempotent: a second run changes nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="load even with DEBUG off (the demo logins share one public password)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "Refusing to load demo data with DEBUG off: its logins share a published "
                "password. Use --force on a throwaway database only."
            )
        created = load_demo()
        from weibao.enforcement.demo import load_enforcement_demo

        created.update(load_enforcement_demo())
        from weibao.reporting.demo import load_reporting_demo

        created.update(load_reporting_demo())
        from weibao.ledger.demo import load_ledger_demo

        created.update(load_ledger_demo())
        summary = ", ".join(f"{count} {name}" for name, count in created.items())
        self.stdout.write(f"demo: created {summary}")
        self.stdout.write(f"demo logins (password {DEMO_PASSWORD}):")
        width = max(len(p.username) for p in PERSONAS)
        for p in PERSONAS:
            self.stdout.write(f"  {p.username:<{width}}  {p.role:<20} {p.note}")
