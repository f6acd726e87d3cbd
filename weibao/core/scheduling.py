"""Periodic jobs: later issues hang their daily work here (reminders, escalations, reconciliation).

A job is a django-tasks Task plus a local time of day. `weibao scheduler` wakes up every few
seconds and enqueues each job once per day after its time. The claim is the insert of a
ScheduledRun row (unique per job and date), in the same transaction as the enqueue, so two
schedulers running by mistake still enqueue a job once, and a crash between the two leaves
neither.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: Any  # django_tasks.Task
    at: time


_registry: dict[str, PeriodicJob] = {}


def periodic(*, at: time, name: str | None = None) -> Callable[[Any], Any]:
    """Register a Task to run daily at local time `at` (settings.TIME_ZONE)."""

    def register(task: Any) -> Any:
        job_name = name or task.module_path
        _registry[job_name] = PeriodicJob(job_name, task, at)
        return task

    return register


def jobs() -> dict[str, PeriodicJob]:
    autodiscover_modules("tasks")
    return dict(_registry)


def run_due(now: datetime | None = None) -> list[str]:
    """Enqueue every job whose time has come today and that has not been enqueued today."""
    from weibao.core.models import ScheduledRun

    local = timezone.localtime(now or timezone.now())
    enqueued: list[str] = []
    for job in jobs().values():
        if local.time() < job.at:
            continue
        try:
            with transaction.atomic():
                run = ScheduledRun.objects.create(job=job.name, due_on=local.date())
                result = job.task.enqueue()
                run.task_id = str(result.id)
                run.save(update_fields=["task_id"])
        except IntegrityError:
            continue  # already claimed today
        logger.info("enqueued %s for %s as %s", job.name, local.date(), run.task_id)
        enqueued.append(job.name)
    return enqueued
