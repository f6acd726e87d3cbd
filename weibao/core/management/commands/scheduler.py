from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from weibao.core import scheduling


class Command(BaseCommand):
    help = "Enqueue periodic jobs when they are due (run one alongside `weibao worker`)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=30.0, help="seconds between checks")
        parser.add_argument("--once", action="store_true", help="check once and exit")
        parser.add_argument("--list", action="store_true", help="list the registered jobs")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for job in scheduling.jobs().values():
                self.stdout.write(f"{job.name}\t{job.at.isoformat('minutes')}")
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write(f"scheduler: {len(scheduling.jobs())} jobs registered")
        while not stop.is_set():
            for name in scheduling.run_due():
                self.stdout.write(f"scheduler: enqueued {name}")
            if options["once"]:
                break
            stop.wait(options["interval"])
            # A long-lived process must not keep a connection the server has dropped.
            close_old_connections()
        self.stdout.write("scheduler: stopped")
