from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from weibao.core import scheduling
from weibao.core.models import ScheduledRun

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_daily_job_runs_once_per_day_after_its_time(mailoutbox: Any) -> None:
    early = datetime(2026, 11, 28, 3, 0, tzinfo=SHANGHAI)
    assert "audit.verify_chain" not in scheduling.run_due(early)
    due = datetime(2026, 11, 28, 3, 31, tzinfo=SHANGHAI)
    assert "audit.verify_chain" in scheduling.run_due(due)
    assert "audit.verify_chain" not in scheduling.run_due(due)  # claimed already
    assert ScheduledRun.objects.filter(job="audit.verify_chain").count() == 1
    next_day = datetime(2026, 11, 29, 4, 0, tzinfo=SHANGHAI)
    assert "audit.verify_chain" in scheduling.run_due(next_day)
    assert mailoutbox == []  # the chain is intact, nobody is alarmed


def test_broken_chain_mails_the_operators(mailoutbox: Any, settings: Any) -> None:
    from django.db import connection

    from weibao.accounts.models import Agency
    from weibao.core.tasks import verify_audit_chain

    settings.ADMINS = [("ops", "ops@example.org")]
    Agency.objects.create(name="x", kind="county_bureau", jurisdiction_id="430405")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditentry SET object_repr = 'forged'")
    result = verify_audit_chain.enqueue()
    assert result.return_value["ok"] is False
    assert "audit chain broken" in mailoutbox[0].subject


def test_scheduler_command_once(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("scheduler", "--list")
    assert "audit.verify_chain" in capsys.readouterr().out
    call_command("scheduler", "--once")
    assert "stopped" in capsys.readouterr().out
