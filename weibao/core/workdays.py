"""Working days in mainland China (statutory holidays and make-up working days).

chinese-calendar carries the State Council's holiday tables; it only knows the years published so
far. Beyond them a day counts as working when it is Monday to Friday, which is right for most of
the year and is logged so an operator knows to upgrade the package when a new table appears.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

import chinese_calendar

logger = logging.getLogger(__name__)


def is_working_day(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        logger.warning("no holiday table for %s; counting Monday to Friday", day.year)
        return day.weekday() < 5


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days after `start` (start itself never counts)."""
    if days < 0:
        raise ValueError("days must not be negative")
    day = start
    left = days
    while left:
        day += timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (0 when end <= start)."""
    count = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count


def add_period(start: date, count: int, working: bool) -> date:
    """`count` working days or calendar days after `start`."""
    return add_working_days(start, count) if working else start + timedelta(days=count)
