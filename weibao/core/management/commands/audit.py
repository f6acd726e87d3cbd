from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from weibao.core import audit


class Command(BaseCommand):
    help = "Audit trail tools. `weibao audit verify` checks the hash chain end to end."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit.verify_chain()
        if not report.ok:
            raise CommandError(
                f"Audit chain broken at entry {report.broken_seq}: {report.reason} "
                f"({report.checked} entries verified before it)."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit chain intact: {report.checked} entries, head {report.head_hash or '-'}."
            )
        )
