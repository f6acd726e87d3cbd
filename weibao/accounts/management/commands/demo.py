from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from weibao.accounts.demo import DEMO_PASSWORD, PERSONAS, load_demo


class Command(BaseCommand):
    help = "Load the demo agencies and personas (idempotent: a second run changes nothing)."

    def handle(self, *args: Any, **options: Any) -> None:
        created = load_demo()
        self.stdout.write(
            "demo: created {agencies} agencies, {grants} grants, {users} users".format(**created)
        )
        self.stdout.write(f"demo logins (password {DEMO_PASSWORD}):")
        for p in PERSONAS:
            self.stdout.write(f"  {p.username:<10} {p.role:<18} {p.note}")
